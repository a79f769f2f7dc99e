using System.Net;
using Microsoft.Extensions.Time.Testing;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Redirect;

/// <summary>
/// A server whose clock the test moves. It starts a day behind the real one, so that however far a test moves it,
/// the ids it makes never run ahead of those the rest of the process makes at the real time.
/// </summary>
public sealed class ClockedTern : TernFactory
{
    public ClockedTern() => Clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-1));
}

public sealed class LinkLifecycleTests(ClockedTern tern) : IClassFixture<ClockedTern>
{
    [Fact]
    public async Task ACachedLinkStopsGoingToItsDestinationTheMomentItExpires()
    {
        var expiresAt = tern.Clock!.GetUtcNow().AddHours(1);
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/offer", slug = UniqueSlug(), expiresAt, expiredUrl = "https://example.com/ended" });
        var visitor = tern.Visitor();

        Assert.Equal("https://example.com/offer", (await visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        tern.Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal("https://example.com/offer", (await visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        tern.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("https://example.com/ended", (await visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task ARememberedUnknownSlugIsForgottenAfterTheMissWindow()
    {
        var slug = UniqueSlug("late");
        var visitor = tern.Visitor();
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/" + slug)).StatusCode);
        var reads = tern.Get<Tern.Server.Redirect.LinkCache>().StorageReads;

        tern.Clock!.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/" + slug)).StatusCode);
        Assert.Equal(reads + 1, tern.Get<Tern.Server.Redirect.LinkCache>().StorageReads);
    }
}
