using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using QRCoder;
using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Links;

/// <summary>
/// <c>GET /api/v1/links/{id}/qr</c>: the short URL as a QR code (QRCoder), SVG or PNG. The encoded URL carries the
/// QR marker (<c>?qr=1</c>), so scans are counted with <c>source: "qr"</c>; the redirect never forwards the marker.
/// </summary>
public static class LinkQrCodes
{
    public const string Marker = "qr=1";
    public const int MaxPixelsPerModule = 40;

    public static void MapLinkQrCodes(this RouteGroupBuilder reads) =>
        reads.MapGet("/{id}/qr", GetLinkQr).WithName("GetLinkQrCode")
            .WithSummary("The link's short URL as a QR code: format=svg (default) or png, size (pixels per module, 1-40, default 10), "
                + "margin (quiet zone: 4 modules, default, or 0), ecc (L, M default, Q, H), fg and bg (hex colours, default 000000 and ffffff)")
            .Produces(StatusCodes.Status200OK, contentType: "image/svg+xml", additionalContentTypes: ["image/png"]);

    public static async Task<Results<FileContentHttpResult, ProblemHttpResult>> GetLinkQr(
        string id, ClaimsPrincipal user, LinkService links, ShortDomains domains, CancellationToken cancellationToken,
        string? format = null, string? size = null, string? margin = null, string? ecc = null, string? fg = null, string? bg = null)
    {
        var errors = new Dictionary<string, string[]>();
        var svg = format is null or "svg";
        if (format is not (null or "svg" or "png"))
        {
            errors["format"] = ["format must be svg or png."];
        }

        var pixels = 10;
        if (size is not null && (!int.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out pixels) || pixels is < 1 or > MaxPixelsPerModule))
        {
            errors["size"] = [$"size must be a whole number of pixels per module from 1 to {MaxPixelsPerModule}."];
        }

        if (margin is not (null or "4" or "0"))
        {
            errors["margin"] = ["margin must be 4 (the standard quiet zone, in modules) or 0."];
        }

        var level = ecc switch
        {
            null or "M" => QRCodeGenerator.ECCLevel.M,
            "L" => QRCodeGenerator.ECCLevel.L,
            "Q" => QRCodeGenerator.ECCLevel.Q,
            "H" => QRCodeGenerator.ECCLevel.H,
            _ => (QRCodeGenerator.ECCLevel?)null,
        };
        if (level is null)
        {
            errors["ecc"] = ["ecc must be L, M, Q or H."];
        }

        var dark = Colour(fg ?? "000000", "fg", errors);
        var light = Colour(bg ?? "ffffff", "bg", errors);
        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        if (await links.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is not { } link)
        {
            return Problems.Result(Problems.NotFound, $"No link has the id '{id}'.");
        }

        var quietZone = margin is not "0";
        using var data = QRCodeGenerator.GenerateQrCode(domains.ShortUrl(link.Domain, link.Slug) + "?" + Marker, level!.Value);
        return svg
            ? TypedResults.File(Encoding.UTF8.GetBytes(new SvgQRCode(data).GetGraphic(pixels, Hex(dark), Hex(light), quietZone)), "image/svg+xml")
            : TypedResults.File(new PngByteQRCode(data).GetGraphic(pixels, dark, light, quietZone), "image/png");
    }

    private static string Hex(byte[] rgba) => "#" + Convert.ToHexStringLower(rgba.AsSpan(0, 3));

    /// <summary>RGBA bytes of a hex colour (<c>rrggbb</c>, with or without '#').</summary>
    private static byte[] Colour(string value, string field, Dictionary<string, string[]> errors)
    {
        var hex = value.AsSpan().TrimStart('#');
        if (hex.Length != 6 || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var rgb))
        {
            errors[field] = [$"{field} must be a hex colour such as 1f2937."];
            return [];
        }

        return [(byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb, 255];
    }
}
