using System.Globalization;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>Stats of a link and of a workspace, read from rollups; the raw click list as JSON or CSV.</summary>
public static class AnalyticsEndpoints
{
    public const int TopLinks = 10;

    public static void MapAnalytics(this RouteGroupBuilder api)
    {
        var analytics = api.MapGroup("/").WithTags("Analytics").RequireAuthorization(Scopes.AnalyticsRead);
        analytics.MapGet("/links/{id}/stats", LinkStats).WithName("GetLinkStats")
            .WithSummary("Clicks of a link over a range: total, time series and breakdowns");
        analytics.MapGet("/stats", WorkspaceStats).WithName("GetWorkspaceStats")
            .WithSummary("Clicks of the workspace (or of the links with a tag) with the top links");
        analytics.MapGet("/clicks", ListClicks).WithName("ListClicks")
            .WithSummary("Raw clicks, newest first, as JSON pages or (format=csv) one CSV file; with after= the clicks committed after that one, oldest first");
    }

    public static async Task<Results<Ok<StatsResponse>, ProblemHttpResult>> LinkStats(
        string id, ClaimsPrincipal user, LinkStore links, ClickStore clicks, TimeProvider time, IOptions<ClickOptions> options,
        CancellationToken cancellationToken,
        string? from = null, string? to = null, string? interval = null)
    {
        var errors = new Dictionary<string, string[]>();
        var query = StatsQuery.Parse(from, to, interval, time.GetUtcNow(), errors);
        if (query is null)
        {
            return Problems.ValidationResult(errors);
        }

        if (await links.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is null)
        {
            return Problems.Result(Problems.NotFound, $"No link has the id '{id}'.");
        }

        return TypedResults.Ok(await StatsAsync(clicks, [id], linkScopes: true, query, options.Value.UniqueVisitors, cancellationToken));
    }

    public static async Task<Results<Ok<StatsResponse>, ProblemHttpResult>> WorkspaceStats(
        ClaimsPrincipal user, Database database, LinkStore links, ClickStore clicks, ShortDomains domains, TimeProvider time,
        IOptions<ClickOptions> options, CancellationToken cancellationToken, string? from = null, string? to = null, string? interval = null, string? tag = null)
    {
        var errors = new Dictionary<string, string[]>();
        var query = StatsQuery.Parse(from, to, interval, time.GetUtcNow(), errors);
        if (query is null)
        {
            return Problems.ValidationResult(errors);
        }

        var workspaceId = TernClaims.WorkspaceOf(user);
        IReadOnlyList<string> scopes = tag is null ? [workspaceId] : await LinkClickCounts.LinkIdsTaggedAsync(database, workspaceId, tag, cancellationToken);
        var stats = await StatsAsync(clicks, scopes, linkScopes: tag is not null, query, options.Value.UniqueVisitors, cancellationToken);
        var top = scopes.Count == 0 ? []
            : await clicks.TopLinksAsync(workspaceId, tag is null ? null : scopes, query.FromMs, query.ToMs, TopLinks, cancellationToken);
        var known = (await links.FindManyAsync(workspaceId, [.. top.Select(t => t.Key)], cancellationToken)).ToDictionary(l => l.Id);
        return TypedResults.Ok(stats with
        {
            Links = [.. top.Select(t => known.TryGetValue(t.Key, out var link)
                ? new TopLink(link.Id, link.Domain, link.Slug, domains.ShortUrl(link.Domain, link.Slug), t.Clicks)
                : new TopLink(t.Key, null, null, null, t.Clicks))],
        });
    }

    /// <param name="linkScopes">
    /// True when the scopes are links: their breakdowns are kept by whole UTC days, and those that keep no cells of their
    /// own yet (<see cref="ClickOptions.LinkRollupsAbove"/>) are read from their raw clicks.
    /// </param>
    private static async Task<StatsResponse> StatsAsync(
        ClickStore clicks, IReadOnlyList<string> scopes, bool linkScopes, StatsQuery query, bool uniqueVisitors, CancellationToken cancellationToken)
    {
        if (scopes.Count == 0)
        {
            return Build(query, [], new Dictionary<string, IReadOnlyList<(string, long)>>()) with { UniqueVisitors = uniqueVisitors ? 0 : null };
        }

        IReadOnlyList<string> cellScopes = scopes, rawLinks = [];
        if (linkScopes)
        {
            var own = await clicks.OwnRollupsAsync(scopes, cancellationToken);
            (cellScopes, rawLinks) = ([.. scopes.Where(own.Contains)], [.. scopes.Where(s => !own.Contains(s))]);
        }

        // Whole days come from daily cells, the partial days at the edges from hourly ones, as for the breakdowns,
        // so the series adds up to the same total.
        var (from, to) = (ClickStore.FloorHour(query.FromMs), ClickStore.CeilHour(query.ToMs));
        var (dayFrom, dayTo) = ClickStore.DaySpan(from, to);
        var rows = new List<(long Bucket, long Clicks)>();
        if (cellScopes.Count > 0)
        {
            rows.AddRange(query.Interval == "hour"
                ? await clicks.SeriesAsync(cellScopes, 'h', from, to, cancellationToken)
                : [
                    .. await clicks.SeriesAsync(cellScopes, 'h', from, dayFrom, cancellationToken),
                    .. await clicks.SeriesAsync(cellScopes, 'd', dayFrom, dayTo, cancellationToken),
                    .. await clicks.SeriesAsync(cellScopes, 'h', dayTo, to, cancellationToken),
                ]);
        }

        if (rawLinks.Count > 0)
        {
            rows.AddRange(await clicks.RawSeriesAsync(rawLinks, from, to, cancellationToken));
        }

        var breakdowns = new Dictionary<string, IReadOnlyList<(string, long)>>();
        foreach (var dimension in linkScopes ? [.. ClickStore.Dimensions, "destination"] : ClickStore.Dimensions)
        {
            breakdowns[dimension] = Merge(
                cellScopes.Count == 0 ? [] : await clicks.SumAsync(cellScopes, dimension, query.FromMs, query.ToMs, cancellationToken, wholeDays: linkScopes),
                rawLinks.Count == 0 ? [] : await clicks.RawSumAsync(rawLinks, dimension, query.FromMs, query.ToMs, cancellationToken));
        }

        var stats = Build(query, rows, breakdowns);
        return uniqueVisitors
            ? stats with { UniqueVisitors = (await clicks.SumAsync(scopes, "uniques", query.FromMs, query.ToMs, cancellationToken, wholeDays: linkScopes)).Sum(u => u.Clicks) }
            : stats;
    }

    /// <summary>One breakdown from the cells of some links and the raw clicks of others: the sums by key, most first.</summary>
    private static IReadOnlyList<(string Key, long Clicks)> Merge(IReadOnlyList<(string Key, long Clicks)> cells, IReadOnlyList<(string Key, long Clicks)> raw) =>
        raw.Count == 0 ? cells
        : cells.Count == 0 ? raw
        : [.. cells.Concat(raw).GroupBy(e => e.Key, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Sum(e => e.Clicks)))
            .OrderByDescending(e => e.Item2).ThenBy(e => e.Key, StringComparer.Ordinal)];

    private static StatsResponse Build(StatsQuery query, IReadOnlyList<(long Bucket, long Clicks)> rows, Dictionary<string, IReadOnlyList<(string, long)>> breakdowns)
    {
        var series = query.Buckets().ToDictionary(b => b, _ => 0L);
        foreach (var (bucket, count) in rows)
        {
            var key = query.BucketOf(bucket);
            series[key] = series.GetValueOrDefault(key) + count;
        }

        IReadOnlyList<BreakdownEntry> Breakdown(string dimension) =>
            breakdowns.TryGetValue(dimension, out var entries)
                ? [.. entries.Select(e => new BreakdownEntry(e.Item1.Length == 0 ? null : e.Item1, e.Item2))]
                : [];

        return new StatsResponse
        {
            From = DateTimeOffset.FromUnixTimeMilliseconds(query.FromMs),
            To = DateTimeOffset.FromUnixTimeMilliseconds(query.ToMs),
            Interval = query.Interval,
            Total = series.Values.Sum(),
            Timeseries = [.. series.OrderBy(p => p.Key).Select(p => new TimeseriesPoint(DateTimeOffset.FromUnixTimeMilliseconds(p.Key), p.Value))],
            Countries = Breakdown("country"),
            Devices = Breakdown("device"),
            Browsers = Breakdown("browser"),
            Os = Breakdown("os"),
            Referrers = Breakdown("referrer"),
            Destinations = breakdowns.ContainsKey("destination") ? Breakdown("destination") : null,
        };
    }

    public static async Task<IResult> ListClicks(
        HttpContext context, ClaimsPrincipal user, ClickStore clicks, CancellationToken cancellationToken,
        string? linkId = null, string? from = null, string? to = null, string? limit = null, string? cursor = null, string? format = null,
        string? after = null, string? includeBots = null)
    {
        var errors = new Dictionary<string, string[]>();
        var fromMs = StatsQuery.ParseInstant(from, "from", errors)?.ToUnixTimeMilliseconds();
        var toMs = StatsQuery.ParseInstant(to, "to", errors)?.ToUnixTimeMilliseconds();
        var pageSize = Paging.Parse(limit, cursor, "clk", errors);

        if (after is not null && !Ids.IsWellFormed(after, "clk"))
        {
            errors["after"] = ["after must be the id of a click (clk_…)."];
        }
        else if (after is not null && (cursor is not null || format == "csv"))
        {
            errors["after"] = ["after pages forward, oldest first, in JSON; it cannot be combined with cursor or format=csv."];
        }

        var bots = true;
        if (includeBots is not null && !bool.TryParse(includeBots, out bots))
        {
            errors["includeBots"] = ["includeBots must be true or false."];
        }

        if (format is not (null or "json" or "csv"))
        {
            errors["format"] = ["format must be json or csv."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        // A blank field of a no-code form arrives as linkId=: no filter, as when it is left out.
        var filter = new ClickFilter(TernClaims.WorkspaceOf(user), string.IsNullOrEmpty(linkId) ? null : linkId, fromMs, toMs, bots);
        if (format == "csv")
        {
            return Results.Stream(stream => WriteCsvAsync(stream, clicks.StreamAsync(filter, cancellationToken)),
                "text/csv; charset=utf-8", fileDownloadName: "clicks.csv");
        }

        if (after is not null)
        {
            // Oldest first in commit order; nextCursor is the after= of the next page while pages come full.
            var forward = (await clicks.ListAfterAsync(filter, after, pageSize, cancellationToken)).Select(c => c.ToResponse()).ToList();
            return TypedResults.Ok(new ListResponse<ClickResponse>(forward, forward.Count == pageSize ? forward[^1].Id : null));
        }

        var page = await clicks.ListAsync(filter, cursor, pageSize + 1, cancellationToken);
        var items = page.Take(pageSize).Select(c => c.ToResponse()).ToList();
        return TypedResults.Ok(new ListResponse<ClickResponse>(items, page.Count > pageSize ? items[^1].Id : null));
    }

    private static readonly string CsvHeader = "id,timestamp,linkId,slug,domain,deviceCategory,browser,os,country,referrer,language,isBot\r\n";

    private static async Task WriteCsvAsync(Stream stream, IAsyncEnumerable<Click> clicks)
    {
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024);
        await writer.WriteAsync(CsvHeader);
        await foreach (var click in clicks)
        {
            await writer.WriteAsync(string.Join(',',
                click.Id,
                DateTimeOffset.FromUnixTimeMilliseconds(click.TimestampMs).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                click.LinkId, CsvText.Cell(click.Slug), CsvText.Cell(click.Domain), click.Device, CsvText.Cell(click.Browser), CsvText.Cell(click.Os),
                click.Country ?? "", CsvText.Cell(click.Referrer), CsvText.Cell(click.Language), click.IsBot ? "true" : "false") + "\r\n");
        }
    }
}
