using System.Buffers;
using System.Text;

namespace Tern.Server.Links;

/// <summary>
/// Validates and normalises a destination: absolute http or https, no user-info, no spaces or control
/// characters, at most <see cref="MaxLength"/> characters. The host is stored in its ASCII (punycode) form
/// and other non-ASCII characters are percent-encoded, because a Location header must be ASCII; everything
/// else, including the query's own encoding and the fragment, is kept exactly as given.
/// </summary>
public static class DestinationUrl
{
    public const int MaxLength = 4096;

    private static readonly SearchValues<char> AuthorityEnd = SearchValues.Create("/?#");

    public static bool TryNormalize(string? input, out string normalized, out string error)
    {
        normalized = "";
        if (CheckText(input) is { } textError)
        {
            error = textError;
            return false;
        }

        if (!TrySplit(input!, out var parts, out error))
        {
            return false;
        }

        var builder = new StringBuilder(input!.Length + 16);
        builder.Append(parts.Scheme).Append("://").Append(parts.Host.ToLowerInvariant());
        if (parts.Port is { } port)
        {
            builder.Append(':').Append(port);
        }

        if (parts.Rest.Length == 0 || parts.Rest[0] != '/')
        {
            builder.Append('/');
        }

        AppendPercentEncodingNonAscii(builder, parts.Rest);
        normalized = builder.ToString();
        if (normalized.Length > MaxLength)
        {
            error = $"is {normalized.Length} characters long once encoded; the limit is {MaxLength}.";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>The URL's text as given: present, not too long, no space or control character. Null when it passes.</summary>
    private static string? CheckText(string? input)
    {
        if (string.IsNullOrEmpty(input))
        {
            return "is required.";
        }

        if (input.Length > MaxLength)
        {
            return $"is {input.Length} characters long; the limit is {MaxLength}.";
        }

        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '\u200B' or '\uFEFF')
            {
                return $"contains a space or control character (U+{(int)c:X4}) at position {i + 1}; percent-encode it.";
            }
        }

        return null;
    }

    /// <summary>The destination's scheme (lower case), host (ASCII form), port when not the default, and everything after the authority.</summary>
    private readonly record struct UrlParts(string Scheme, string Host, int? Port, string Rest);

    /// <summary>Splits an absolute http or https URL without user-info into its parts.</summary>
    private static bool TrySplit(string input, out UrlParts parts, out string error)
    {
        parts = default;
        var schemeEnd = input.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd > 0 ? input[..schemeEnd].ToLowerInvariant() : "";
        if (scheme is not ("http" or "https"))
        {
            error = "must be an absolute URL starting with http:// or https://.";
            return false;
        }

        if (!Uri.TryCreate(input, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            error = "is not a valid absolute URL.";
            return false;
        }

        var authorityStart = schemeEnd + 3;
        var authorityLength = input.AsSpan(authorityStart).IndexOfAny(AuthorityEnd);
        var rest = authorityLength < 0 ? "" : input[(authorityStart + authorityLength)..];
        if (!string.IsNullOrEmpty(uri.UserInfo) || input.AsSpan(authorityStart, authorityLength < 0 ? input.Length - authorityStart : authorityLength).Contains('@'))
        {
            error = "must not contain user-info (user:password@).";
            return false;
        }

        string host;
        try
        {
            host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        }
        catch (UriFormatException)
        {
            error = "has a host name that is not valid.";
            return false;
        }

        parts = new UrlParts(scheme, host, uri.IsDefaultPort ? null : uri.Port, rest);
        error = "";
        return true;
    }

    private static void AppendPercentEncodingNonAscii(StringBuilder builder, string text)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c < 0x80)
            {
                builder.Append(c);
                continue;
            }

            var length = char.IsHighSurrogate(c) && i + 1 < text.Length
                ? Encoding.UTF8.GetBytes(text.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(text.AsSpan(i, 1), utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}
