using System.Net;
using System.Net.Http.Json;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Links;

/// <summary>What follows a committed link change in the rooms that keep something about links.</summary>
public sealed class LinkChangeObserverTests(TernFactory tern) : IClassFixture<TernFactory>
{
    [Fact]
    public async Task DeletingALinkForgetsItsClickTally()
    {
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/limited", slug = UniqueSlug("tally"), maxClicks = 5 });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        var tallies = tern.Get<ClickTallies>();
        Assert.Equal(1, tallies.CountFor(link.Id, 0));

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/v1/links/{link.Id}")).StatusCode);

        Assert.Equal(0, tallies.CountFor(link.Id, 0));
    }

    [Fact]
    public async Task BulkDeletingLinksForgetsTheirClickTallies()
    {
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/limited", slug = UniqueSlug("tally"), maxClicks = 5 });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        var tallies = tern.Get<ClickTallies>();
        Assert.Equal(1, tallies.CountFor(link.Id, 0));

        var response = await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { ids = new[] { link.Id } } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, tallies.CountFor(link.Id, 0));
    }

    [Fact]
    public async Task ALinkMovedToAnotherSlugIsServedThereAndNoLongerAtItsOldOne()
    {
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/moved", slug = UniqueSlug("old") });
        var visitor = tern.Visitor();
        Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync("/" + link.Slug)).StatusCode);
        var newSlug = UniqueSlug("new");
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/" + newSlug)).StatusCode);

        var response = await api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { slug = newSlug }, Json);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/" + link.Slug)).StatusCode);
        Assert.Equal("https://example.com/moved", (await visitor.GetAsync("/" + newSlug)).Headers.Location?.OriginalString);
    }
}
