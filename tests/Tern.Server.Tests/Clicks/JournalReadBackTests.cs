using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Events;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>
/// SQLite: the fold holds only a couple of the writer's batches in memory and reads the others back from the click
/// journal. Here it holds none, so every click is folded from the journal.
/// </summary>
public sealed class JournalReadBackTests(TernFactory tern) : IClassFixture<TernFactory>
{
    [Fact]
    public async Task ClicksFoldedFromTheJournalAreAllCountedAndTakeALinkToItsClickLimitOnce()
    {
        tern.Get<ClickFolder>().MaxHandedBatches = 0;
        var api = tern.Api();
        var visitor = tern.Visitor();
        var limited = await api.CreateLinkAsync(new { url = "https://example.com/limited", slug = UniqueSlug("rb"), maxClicks = 3 });
        var plain = await api.CreateLinkAsync(new { url = "https://example.com/plain", slug = UniqueSlug("rb") });
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync("/" + limited.Slug)).StatusCode);
            Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync("/" + plain.Slug)).StatusCode);
            await tern.Get<ClickWriter>().WaitForPersistedAsync(TestContext.Current.CancellationToken);
        }

        var events = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?limit=100", Json, TestContext.Current.CancellationToken))!.Items;
        var expired = events.Where(e => e.Type == EventTypes.LinkExpired).ToList();
        Assert.Equal([limited.Id], expired.Select(e => e.Data.Link!.Id));
        Assert.Equal(3, expired[0].Data.Link!.Clicks);
        Assert.Equal(3, events.Count(e => e.Type == EventTypes.LinkClicked && e.Data.Link!.Id == plain.Id));
        Assert.Equal(3, (await api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{plain.Id}", Json, TestContext.Current.CancellationToken))!.Clicks);
        Assert.Equal(HttpStatusCode.Gone, (await visitor.GetAsync("/" + limited.Slug)).StatusCode);
    }
}
