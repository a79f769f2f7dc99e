using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Redirect;

namespace Tern.Server.Tests.Redirect;

/// <summary>
/// The cache held at <c>Tern:Cache:MaxLinks</c>. Links come in through <see cref="LinkCache.Warm"/>, as from their
/// creation on this node, so no storage is read (the store is never asked).
/// </summary>
public sealed class LinkCacheEvictionTests
{
    private const int MaxLinks = 1000;

    [Fact]
    public void PastMaxLinksATenthOfTheDomainsLinksGoAndTheRestAreStillServed()
    {
        var cache = NewCache();
        var links = Enumerable.Range(0, MaxLinks + 1).Select(i => Created("ev" + i)).ToArray();

        foreach (var link in links)
        {
            cache.Warm(link);
        }

        Assert.Equal(MaxLinks + 1 - (MaxLinks + 1) / 10, cache.Count);
        var found = links.Count(l => cache.Lookup("go.test", l.Slug, out var cached) == CacheLookup.Found && cached!.Destination == l.Url);
        Assert.Equal(cache.Count, found);
    }

    [Fact]
    public void TheCountStaysAtMostMaxLinksAsLinksKeepComing()
    {
        var cache = NewCache();

        for (var i = 0; i < MaxLinks * 5; i++)
        {
            cache.Warm(Created("more" + i));
            Assert.InRange(cache.Count, 1, MaxLinks);
        }
    }

    [Fact]
    public void AnInvalidatedLinkLeavesTheCountAndIsNotServed()
    {
        var cache = NewCache();
        var link = Created("gone");
        cache.Warm(link);
        cache.Warm(Created("kept"));

        cache.Invalidate("GO.test", "gone");

        Assert.Equal(1, cache.Count);
        Assert.Equal(CacheLookup.Unknown, cache.Lookup("go.test", "gone", out _));
        Assert.Equal(CacheLookup.Found, cache.Lookup("go.test", "kept", out _));
    }

    private static LinkCache NewCache() => new(
        new LinkStore(null!), new ClickTallies(), Options.Create(new LinkCacheOptions { MaxLinks = MaxLinks }), TimeProvider.System);

    private static Link Created(string slug) => TestLinks.Link(Ids.New("lnk", TimeProvider.System), slug, "https://example.com/" + slug) with
    {
        CreatedAt = DateTimeOffset.UtcNow.AddSeconds(1),
    };
}
