using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Clicks.ClickTestClient;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>A server whose links keep stats cells of their own from their fourth click on.</summary>
public sealed class OwnRollupsFromFourTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Clicks:LinkRollupsAbove", "3")];
}

public sealed class PostgresOwnRollupsFromFourTern : PostgresTernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Clicks:LinkRollupsAbove", "3")];
}

/// <summary>
/// A link's stats come from its raw clicks until it has more than <c>Tern:Clicks:LinkRollupsAbove</c>, then from cells
/// of its own counted from those clicks: the answers are the same either side of the change, and past retention.
/// </summary>
public abstract class LinkOwnRollupsTests(TernFactory tern)
{
    private readonly HttpClient _api = tern.Api();

    [Fact]
    public async Task ALinksStatsAreTheSameReadFromItsClicksAndFromTheCellsItKeepsOnceItHasMoreThanTheThreshold()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/grows", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone, "https://news.example/a");
        await VisitAsync(link.Slug, WindowsChrome, null);
        await PersistedAsync();

        var small = await StatsAsync(link.Id);
        Assert.False(await KeepsOwnCellsAsync(link.Id));
        Assert.Equal(2, small.Total);
        Assert.Equal(2, small.Timeseries.Sum(p => p.Clicks));
        Assert.Equal([new BreakdownEntry("Chrome", 1), new BreakdownEntry("Safari", 1)], small.Browsers.OrderBy(b => b.Key));
        Assert.Contains(new BreakdownEntry("news.example", 1), small.Referrers);
        Assert.Equal([new BreakdownEntry("https://example.com/grows", 2)], small.Destinations);

        for (var i = 0; i < 5; i++)
        {
            await VisitAsync(link.Slug, i % 2 == 0 ? IPhone : WindowsChrome, "https://mail.example/x");
        }

        await PersistedAsync();
        await VisitAsync(link.Slug, IPhone, null);
        await PersistedAsync();

        var grown = await StatsAsync(link.Id);
        Assert.True(await KeepsOwnCellsAsync(link.Id));
        Assert.Equal(8, grown.Total);
        Assert.Equal(8, grown.Timeseries.Sum(p => p.Clicks));
        Assert.Equal([new BreakdownEntry("Chrome", 3), new BreakdownEntry("Safari", 5)], grown.Browsers.OrderBy(b => b.Key));
        Assert.Contains(new BreakdownEntry("mail.example", 5), grown.Referrers);
        Assert.Contains(new BreakdownEntry("news.example", 1), grown.Referrers);
        Assert.Equal(8, grown.Devices.Sum(d => d.Clicks));
        Assert.Equal([new BreakdownEntry("https://example.com/grows", 8)], grown.Destinations);
        Assert.Equal(8, (await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", Json))!.Clicks);
    }

    [Fact]
    public async Task ATagsStatsAddTheLinksThatKeepCellsToThoseReadFromTheirClicks()
    {
        var api = await NewWorkspaceClientAsync();
        var busy = await api.CreateLinkAsync(new { url = "https://shop.example/busy", slug = UniqueSlug(), tags = new[] { "mixed" } });
        var quiet = await api.CreateLinkAsync(new { url = "https://shop.example/quiet", slug = UniqueSlug(), tags = new[] { "mixed" } });
        for (var i = 0; i < 6; i++)
        {
            await VisitAsync(busy.Slug, IPhone, null);
        }

        await PersistedAsync();
        await VisitAsync(busy.Slug, IPhone, null);
        await VisitAsync(quiet.Slug, WindowsChrome, null);
        await VisitAsync(quiet.Slug, WindowsChrome, null);
        await PersistedAsync();

        var mixed = await api.GetFromJsonAsync<StatsResponse>("/api/v1/stats?tag=mixed", Json);
        Assert.True(await KeepsOwnCellsAsync(busy.Id));
        Assert.False(await KeepsOwnCellsAsync(quiet.Id));
        Assert.Equal(9, mixed!.Total);
        Assert.Equal([new BreakdownEntry("Safari", 7), new BreakdownEntry("Chrome", 2)], mixed.Browsers);
        Assert.Equal([(busy.Id, 7L), (quiet.Id, 2L)], mixed.Links!.Select(l => (l.Id, l.Clicks)));
    }

    [Fact]
    public async Task ALinkReadFromItsClicksKeepsItsStatsOnceRetentionDeletesThem()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/retained", slug = UniqueSlug() });
        await VisitAsync(link.Slug, IPhone, "https://news.example/a");
        await VisitAsync(link.Slug, WindowsChrome, null);
        await PersistedAsync();
        var before = await StatsAsync(link.Id);

        await tern.Get<ClickStore>().PurgeOlderThanAsync(DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds(), CancellationToken.None);
        var after = await StatsAsync(link.Id);

        Assert.Empty((await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={link.Id}", Json))!.Items);
        Assert.True(await KeepsOwnCellsAsync(link.Id));
        Assert.Equal(2, after.Total);
        Assert.Equal(before.Timeseries, after.Timeseries);
        Assert.Equal(before.Browsers.OrderBy(b => b.Key), after.Browsers.OrderBy(b => b.Key));
        Assert.Equal(before.Referrers.OrderBy(b => b.Key), after.Referrers.OrderBy(b => b.Key));
        Assert.Equal(before.Destinations, after.Destinations);

        await VisitAsync(link.Slug, IPhone, null);
        await PersistedAsync();
        Assert.Equal(3, (await StatsAsync(link.Id)).Total);
    }

    [Fact]
    public async Task ManyLinksPassingTheThresholdTogetherAllComeToKeepCellsOfTheirOwnWithTheirStatsWhole()
    {
        var count = ClickFolder.MaxKeptPerWrite * 2 + 50;
        var created = await (await _api.PostJsonAsync("/api/v1/links/bulk",
            new { items = Enumerable.Range(0, count).Select(i => new { url = $"https://example.com/together/{i}", slug = UniqueSlug() }) }))
            .ReadAsync<BulkCreateResponse>();
        var links = created.Results.Select(r => r.Link!).ToList();

        // Four clicks each, one link after the other, so that every link passes the threshold of 3 in the same folds.
        for (var round = 0; round < 4; round++)
        {
            foreach (var link in links)
            {
                await VisitAsync(link.Slug, round % 2 == 0 ? IPhone : WindowsChrome, null);
            }
        }

        await PersistedAsync();
        var ids = links.Select(l => l.Id).ToList();
        var keeping = 0;
        for (var attempt = 0; attempt < 300 && keeping < count; attempt++)
        {
            keeping = (await tern.Get<ClickStore>().OwnRollupsAsync(ids, CancellationToken.None)).Count;
            if (keeping < count)
            {
                // Those still waiting go with the next rollup write: ask for one.
                tern.Get<ClickFolder>().RequestFlush();
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }

        Assert.Equal(count, keeping);
        foreach (var link in links.Where((_, i) => i % 97 == 0))
        {
            var stats = await StatsAsync(link.Id);
            Assert.Equal(4, stats.Total);
            Assert.Equal(4, stats.Timeseries.Sum(p => p.Clicks));
            Assert.Equal([new BreakdownEntry("Chrome", 2), new BreakdownEntry("Safari", 2)], stats.Browsers.OrderBy(b => b.Key));
        }
    }

    private Task VisitAsync(string slug, string userAgent, string? referrer) => ClickTestClient.VisitAsync(tern, slug, userAgent, referrer: referrer);

    private Task PersistedAsync() => tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

    private async Task<bool> KeepsOwnCellsAsync(string linkId) =>
        (await tern.Get<ClickStore>().OwnRollupsAsync([linkId], CancellationToken.None)).Contains(linkId);

    private async Task<StatsResponse> StatsAsync(string linkId) =>
        (await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{linkId}/stats", Json))!;

    private Task<HttpClient> NewWorkspaceClientAsync() => ClickTestClient.NewWorkspaceClientAsync(tern);
}

public sealed class LinkOwnRollupsTestsOnSqlite(OwnRollupsFromFourTern tern) : LinkOwnRollupsTests(tern), IClassFixture<OwnRollupsFromFourTern>;

public sealed class LinkOwnRollupsTestsOnPostgres(PostgresOwnRollupsFromFourTern tern) : LinkOwnRollupsTests(tern), IClassFixture<PostgresOwnRollupsFromFourTern>;
