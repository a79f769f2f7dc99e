using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>
/// An embedded server whose click writer holds rollup sums for a minute before writing them, and whose links keep
/// cells of their own from their first click (once the sums with it are written).
/// </summary>
public sealed class SlowRollupTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Tern:Clicks:RollupIntervalMilliseconds", "60000"), new("Tern:Clicks:LinkRollupsAbove", "0")];
}

public sealed class RollupGatheringTests(SlowRollupTern tern) : IClassFixture<SlowRollupTern>
{
    private readonly HttpClient _api = tern.Api();

    [Fact]
    public async Task StatsOfALinkWithCellsOfItsOwnTrailTheStoredClicksUntilTheGatheredSumsAreWritten()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/gathered", slug = UniqueSlug() });
        await VisitAsync(link.Slug, 1);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        await VisitAsync(link.Slug, 12);
        await WaitForStoredClicksAsync(link.Id, 13);

        Assert.Equal(1, (await StatsAsync(link.Id)).Total);

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        var stats = await StatsAsync(link.Id);
        Assert.Equal(13, stats.Total);
        Assert.Equal(13, stats.Timeseries.Sum(p => p.Clicks));
    }

    [Fact]
    public async Task StatsOfALinkReadFromItsClicksCountThemOnceStored()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/raw", slug = UniqueSlug() });
        await VisitAsync(link.Slug, 4);
        await WaitForStoredClicksAsync(link.Id, 4);

        Assert.Equal(4, (await StatsAsync(link.Id)).Total);
    }

    [Fact]
    public async Task RetentionMayDeleteClicksWhoseSumsAreNotWrittenYetWithoutLosingThem()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/kept", slug = UniqueSlug() });
        await VisitAsync(link.Slug, 5);
        await WaitForStoredClicksAsync(link.Id, 5);
        var store = tern.Get<ClickStore>();
        var everything = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();

        // The listed clicks go, counted first into the link's own cells; the journal keeps them until the gathered
        // sums (the workspace's) are written.
        await store.PurgeOlderThanAsync(everything, CancellationToken.None);
        Assert.Empty(await ClicksAsync(link.Id));
        Assert.Equal(5, (await StatsAsync(link.Id)).Total);

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Equal(5, (await StatsAsync(link.Id)).Total);

        // With every click gone, new clicks still count once their sums are written.
        await VisitAsync(link.Slug, 3);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Equal(8, (await StatsAsync(link.Id)).Total);
        Assert.Equal(3, (await ClicksAsync(link.Id)).Count);
    }

    private async Task VisitAsync(string slug, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + slug)).StatusCode);
        }
    }

    private async Task WaitForStoredClicksAsync(string linkId, long clicks)
    {
        var since = System.Diagnostics.Stopwatch.StartNew();
        while ((await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{linkId}", Json))!.Clicks < clicks)
        {
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(10), "the clicks were not stored within the batch window");
            await Task.Delay(20);
        }
    }

    private async Task<StatsResponse> StatsAsync(string linkId) =>
        (await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{linkId}/stats", Json))!;

    private async Task<IReadOnlyList<ClickResponse>> ClicksAsync(string linkId) =>
        (await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={linkId}", Json))!.Items;
}
