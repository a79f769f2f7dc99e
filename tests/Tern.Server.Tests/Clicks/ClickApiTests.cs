using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Clicks.ClickTestClient;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>A server that trusts a CDN's country header.</summary>
public sealed class GeoHeaderTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Geo:CountryHeader", "CF-IPCountry")];
}

public sealed class PostgresGeoHeaderTern : PostgresTernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Geo:CountryHeader", "CF-IPCountry")];
}

public abstract class ClickApiTests(TernFactory tern)
{
    private const string Slackbot = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";

    private readonly HttpClient _api = tern.Api();

    [Fact]
    public async Task AClickIsRecordedWithDeviceBrowserOsCountryReferrerAndLanguage()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/enriched", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone, country: "ch", referrer: "https://news.example/story?id=7", language: "de-CH,de;q=0.9");

        var click = Assert.Single(await ClicksAsync(link.Id));
        Assert.Equal(link.Id, click.LinkId);
        Assert.Equal(link.Slug, click.Slug);
        Assert.Equal(link.Domain, click.Domain);
        Assert.Equal("mobile", click.DeviceCategory);
        Assert.Equal("iOS", click.Os);
        Assert.Equal("Safari", click.Browser);
        Assert.Equal("CH", click.Country);
        Assert.Equal("https://news.example/story?id=7", click.Referrer);
        Assert.Equal("de-CH", click.Language);
        Assert.False(click.IsBot);
        Assert.InRange(click.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task LinkPreviewFetchersAreFlaggedAsBots()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/preview", slug = UniqueSlug() });
        await VisitAsync(link.Slug, Slackbot);

        var click = Assert.Single(await ClicksAsync(link.Id));
        Assert.True(click.IsBot);
        Assert.Equal("bot", click.DeviceCategory);
    }

    [Fact]
    public async Task HeadRequestsAndExpiredLinksAreNotClicks()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/head", slug = UniqueSlug() });
        var expired = await _api.CreateLinkAsync(new { url = "https://example.com/x", slug = UniqueSlug(), expiresAt = DateTimeOffset.UtcNow.AddDays(-1) });
        await tern.Visitor().SendAsync(new HttpRequestMessage(HttpMethod.Head, "/" + link.Slug));
        await tern.Visitor().GetAsync("/" + expired.Slug);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        Assert.Empty(await ClicksAsync(link.Id));
        Assert.Empty(await ClicksAsync(expired.Id));
    }

    [Fact]
    public async Task LinkCountStatsTotalsAndCsvAgree()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/honest", slug = UniqueSlug() });
        var visits = new[] { (IPhone, "US"), (IPhone, "DE"), (WindowsChrome, "US"), (Slackbot, (string?)null), (WindowsChrome, "FR") };
        await Task.WhenAll(Enumerable.Range(0, 20).SelectMany(_ => visits).Select(v => VisitAsync(link.Slug, v.Item1, v.Item2, wait: false)));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var stored = await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", Json);
        var stats = await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", Json);
        var csv = await _api.GetStringAsync($"/api/v1/clicks?linkId={link.Id}&format=csv");
        var csvRows = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(100, stored!.Clicks);
        Assert.Equal(100, stats!.Total);
        Assert.Equal(100, stats.Timeseries.Sum(p => p.Clicks));
        Assert.Equal(101, csvRows.Length);
        Assert.StartsWith("id,timestamp,linkId,slug,domain,deviceCategory,browser,os,country,referrer,language,isBot", csvRows[0], StringComparison.Ordinal);
        Assert.Equal(100, stats.Devices.Sum(d => d.Clicks));
        Assert.Equal(new BreakdownEntry("US", 40), stats.Countries[0]);
        Assert.Contains(new BreakdownEntry(null, 20), stats.Countries);
        Assert.Contains(new BreakdownEntry("bot", 20), stats.Devices);
        Assert.Equal(20, csvRows.Count(r => r.EndsWith(",true", StringComparison.Ordinal)));

        // After the raw clicks' retention, the rollups still answer.
        await tern.Get<ClickStore>().PurgeOlderThanAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), CancellationToken.None);
        Assert.Empty(await ClicksAsync(link.Id));
        Assert.Equal(100, (await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", Json))!.Total);
    }

    [Fact]
    public async Task StatsBreakDownClicksByBrowserOsAndReferrerHost()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/breakdown", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone, referrer: "https://news.example/story?id=7", wait: false);
        await VisitAsync(link.Slug, IPhone, referrer: "https://news.example/other", wait: false);
        await VisitAsync(link.Slug, WindowsChrome, referrer: "https://mail.example/inbox", wait: false);
        await VisitAsync(link.Slug, WindowsChrome, wait: false);
        await VisitAsync(link.Slug, WindowsChrome, wait: false);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var stats = await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", Json);

        Assert.Equal([new BreakdownEntry("Chrome", 3), new BreakdownEntry("Safari", 2)], stats!.Browsers);
        Assert.Equal([new BreakdownEntry("Windows", 3), new BreakdownEntry("iOS", 2)], stats.Os);
        Assert.Equal(5, stats.Referrers.Sum(r => r.Clicks));
        Assert.Contains(new BreakdownEntry("news.example", 2), stats.Referrers);
        Assert.Contains(new BreakdownEntry("mail.example", 1), stats.Referrers);
        Assert.Contains(new BreakdownEntry(null, 2), stats.Referrers);
    }

    [Fact]
    public async Task WorkspaceStatsCoverEveryLinkOrThoseWithATagAndNameTheTopLinks()
    {
        var api = await NewWorkspaceClientAsync();
        var summer = await api.CreateLinkAsync(new { url = "https://shop.example/summer", slug = UniqueSlug(), tags = new[] { "sale" } });
        var winter = await api.CreateLinkAsync(new { url = "https://shop.example/winter", slug = UniqueSlug() });
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => VisitAsync(summer.Slug, IPhone, wait: false)));
        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => VisitAsync(winter.Slug, WindowsChrome, wait: false)));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var all = await api.GetFromJsonAsync<StatsResponse>("/api/v1/stats", Json);
        Assert.Equal(8, all!.Total);
        Assert.Equal([winter.Id, summer.Id], all.Links!.Select(l => l.Id));
        Assert.Equal(winter.ShortUrl, all.Links![0].ShortUrl);
        Assert.Equal(5, all.Links[0].Clicks);

        var sale = await api.GetFromJsonAsync<StatsResponse>("/api/v1/stats?tag=sale", Json);
        Assert.Equal(3, sale!.Total);
        Assert.Equal([summer.Id], sale.Links!.Select(l => l.Id));

        var none = await api.GetFromJsonAsync<StatsResponse>("/api/v1/stats?tag=nothing", Json);
        Assert.Equal(0, none!.Total);
    }

    [Fact]
    public async Task StatsFollowTheRangeAndItsInterval()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/range", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone);
        var now = DateTimeOffset.UtcNow;

        var hourly = await _api.GetFromJsonAsync<StatsResponse>(
            $"/api/v1/links/{link.Id}/stats?from={Uri.EscapeDataString(now.AddHours(-3).ToString("O"))}&to={Uri.EscapeDataString(now.AddHours(1).ToString("O"))}", Json);
        Assert.Equal("hour", hourly!.Interval);
        Assert.Equal(1, hourly.Total);
        Assert.InRange(hourly.Timeseries.Count, 4, 6);

        var before = await _api.GetFromJsonAsync<StatsResponse>(
            $"/api/v1/links/{link.Id}/stats?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z", Json);
        Assert.Equal("day", before!.Interval);
        Assert.Equal(0, before.Total);
        Assert.All(before.Timeseries, p => Assert.Equal(0, p.Clicks));
    }

    [Fact]
    public async Task ClicksAreListedNewestFirstPageByPage()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/pages", slug = UniqueSlug() });
        for (var i = 0; i < 5; i++)
        {
            await VisitAsync(link.Slug, IPhone);
        }

        var first = await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={link.Id}&limit=3", Json);
        var second = await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={link.Id}&limit=3&cursor={first!.NextCursor}", Json);

        Assert.Equal(3, first.Items.Count);
        Assert.Equal(2, second!.Items.Count);
        Assert.Null(second.NextCursor);
        var ids = first.Items.Concat(second.Items).Select(c => c.Id).ToList();
        Assert.Equal(ids.OrderByDescending(id => id, StringComparer.Ordinal), ids);
    }

    [Theory]
    [InlineData("/api/v1/stats?from=yesterday", "from")]
    [InlineData("/api/v1/stats?interval=fortnight", "interval")]
    [InlineData("/api/v1/stats?from=2026-11-27T00:00:00Z&to=2026-11-26T00:00:00Z", "from")]
    [InlineData("/api/v1/clicks?format=xml", "format")]
    [InlineData("/api/v1/clicks?limit=0", "limit")]
    [InlineData("/api/v1/clicks?cursor=lnk_x", "cursor")]
    [InlineData("/api/v1/clicks?to=never", "to")]
    public async Task BadAnalyticsParametersAnswer400(string path, string field)
    {
        var problem = await (await _api.GetAsync(path)).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    [Fact]
    public async Task AnEmptyLinkIdFiltersNothingAsLeavingItOutDoes()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/blank-filter", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone);

        var blank = await _api.GetFromJsonAsync<ListResponse<ClickResponse>>("/api/v1/clicks?linkId=&limit=100", Json);
        var none = await _api.GetFromJsonAsync<ListResponse<ClickResponse>>("/api/v1/clicks?limit=100", Json);

        Assert.Contains(blank!.Items, c => c.LinkId == link.Id);
        Assert.Equal(none!.Items.Select(c => c.Id), blank.Items.Select(c => c.Id));
    }

    [Fact]
    public async Task AnalyticsNeedTheirScopeAndStayInTheWorkspace()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/private", slug = UniqueSlug() });
        var other = await NewWorkspaceClientAsync();

        await (await other.GetAsync($"/api/v1/links/{link.Id}/stats")).AssertProblemAsync(HttpStatusCode.NotFound);
        var clicks = await other.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={link.Id}", Json);
        Assert.Empty(clicks!.Items);

        var linksOnly = await (await _api.PostJsonAsync("/api/v1/keys", new { name = "l", scopes = new[] { "links:read" } })).ReadAsync<CreatedKeyResponse>();
        await (await tern.Api(linksOnly.Key).GetAsync("/api/v1/stats")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    private async Task VisitAsync(string slug, string userAgent, string? country = null, string? referrer = null, string? language = null, bool wait = true)
    {
        await ClickTestClient.VisitAsync(tern, slug, userAgent, country, referrer, language);
        if (wait)
        {
            await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        }
    }

    private async Task<IReadOnlyList<ClickResponse>> ClicksAsync(string linkId) =>
        (await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={linkId}", Json))!.Items;

    private Task<HttpClient> NewWorkspaceClientAsync() => ClickTestClient.NewWorkspaceClientAsync(tern);
}

public sealed class ClickApiTestsOnSqlite(GeoHeaderTern tern) : ClickApiTests(tern), IClassFixture<GeoHeaderTern>;

public sealed class ClickApiTestsOnPostgres(PostgresGeoHeaderTern tern) : ClickApiTests(tern), IClassFixture<PostgresGeoHeaderTern>;
