using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Net.Http.Headers;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Dashboard.Shared;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Dashboard;

/// <summary>
/// A campaign CSV is created in parts of <see cref="RowsPerPart"/> rows, each one bulk create of
/// <see cref="BulkLinkService"/>. The page's script posts the parts one at a time to <see cref="Path"/> and moves a
/// progress bar as each returns; without the script, the page's form posts them all and they run in order. A part
/// carries all it needs (its rows under the header, and the number of its first row), so any node serves it, and the
/// script sends each with an <c>Idempotency-Key</c>: a part sent again after a lost answer replays the first answer.
/// </summary>
public static class CampaignImport
{
    public const string Path = "/dashboard/campaigns/parts";

    public const int RowsPerPart = 250;

    /// <summary>The most rows one file may hold; each part stays within the API's <see cref="BulkLinkService.MaxItems"/>.</summary>
    public const int MaxRows = 10_000;

    /// <summary>Creates one part's links and answers its rows of the results table, as the page renders them.</summary>
    public static async Task<IResult> CreatePart(
        HttpContext context, ClaimsPrincipal user, IAntiforgery antiforgery, BulkLinkService bulk, LinkResponses responses,
        CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.Result(Problems.UnsupportedMediaType, "Post the part as application/x-www-form-urlencoded with the fields csv and first.");
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException exception)
        {
            return Problems.Result(Problems.MalformedRequest, "The form could not be read: " + exception.Message);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return Problems.Result(Problems.MalformedRequest, "The antiforgery token is missing or has expired; reload the page.");
        }

        if (!DashboardSession.Has(user, Scopes.LinksWrite))
        {
            return Problems.Result(Problems.Forbidden, $"This key may not create links; it needs the {Scopes.LinksWrite} scope.");
        }

        if (!int.TryParse(form["first"], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var first)
            || first >= MaxRows)
        {
            return Problems.ValidationResult(new Dictionary<string, string[]> { ["first"] = [$"first must be the number of the part's first row, 0 to {MaxRows - 1}."] });
        }

        var items = LinkCsv.Read(form["csv"].ToString(), out var problem);
        if (problem is not null)
        {
            return Problems.Result(Problems.MalformedRequest, problem);
        }

        if (items.Count == 0)
        {
            return Problems.ValidationResult(new Dictionary<string, string[]> { ["csv"] = ["csv must hold a header row and at least one row under it."] });
        }

        if (items.Count > BulkLinkService.MaxItems)
        {
            return Problems.Result(Problems.BatchTooLarge, $"The part has {items.Count} rows; at most {BulkLinkService.MaxItems}.");
        }

        var results = await CreateAsync(TernClaims.WorkspaceOf(user), items, first, bulk, responses, cancellationToken);
        return new RazorComponentResult<CampaignPart>(new Dictionary<string, object?> { [nameof(CampaignPart.Results)] = results });
    }

    /// <summary>One bulk create, as the API's; results are numbered from <paramref name="first"/>, the part's place in the file.</summary>
    public static async Task<IReadOnlyList<BulkItemResult>> CreateAsync(
        string workspaceId, IReadOnlyList<BulkItem> items, int first, BulkLinkService bulk, LinkResponses responses, CancellationToken cancellationToken)
    {
        var outcomes = await bulk.ExecuteAsync(workspaceId, bulk.Plan(items), dryRun: false, cancellationToken);
        return [.. BulkLinkEndpoints.ToResults(outcomes, responses, expanded: null).Results.Select(r => r with { Index = first + r.Index })];
    }
}
