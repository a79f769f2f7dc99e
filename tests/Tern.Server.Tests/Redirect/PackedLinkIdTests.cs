using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Redirect;

namespace Tern.Server.Tests.Redirect;

/// <summary>A cached link holds its id as 128 bits and gives back exactly the text storage holds.</summary>
public sealed class PackedLinkIdTests
{
    [Fact]
    public void IdsTheServerMakesArePackedAndComeBackAsTheSameText()
    {
        for (var i = 0; i < 1000; i++)
        {
            var id = Ids.New("lnk", TimeProvider.System);

            var packed = PackedLinkId.From(id);

            Assert.Null(packed.Text);
            Assert.Equal(id, packed.ToString());
        }
    }

    [Theory]
    [InlineData("lnk_00000000000000000000000000")]
    [InlineData("lnk_00000000000000000000000001")]
    [InlineData("lnk_7ZZZZZZZZZZZZZZZZZZZZZZZZZ")]
    public void TheSmallestAndLargestUlidsArePacked(string id)
    {
        var packed = PackedLinkId.From(id);

        Assert.Null(packed.Text);
        Assert.Equal(id, packed.ToString());
    }

    [Theory]
    [InlineData("lnk_1")]
    [InlineData("lnk_8ZZZZZZZZZZZZZZZZZZZZZZZZZ")]
    [InlineData("lnk_01jdq7x1r5zk3m8v0w2c4b6n9p")]
    [InlineData("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9U")]
    [InlineData("usr_01JDQ7X1R5ZK3M8V0W2C4B6N9P")]
    [InlineData("imported-42")]
    [InlineData("")]
    public void AnIdOfAnotherShapeKeepsItsText(string id)
    {
        var packed = PackedLinkId.From(id);

        Assert.Same(id, packed.Text);
        Assert.Equal(id, packed.ToString());
    }

    [Fact]
    public void PackedIdsAreEqualOnlyWhenTheirTextIs()
    {
        Assert.Equal(PackedLinkId.From("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P"), PackedLinkId.From("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P"));
        Assert.NotEqual(PackedLinkId.From("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P"), PackedLinkId.From("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9Q"));
        Assert.NotEqual(PackedLinkId.From("lnk_00000000000000000000000000"), PackedLinkId.From("x"));
    }

    [Theory]
    [InlineData("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P")]
    [InlineData("legacy-7")]
    public void ACachedLinkGivesBackItsStoredId(string id)
    {
        var cached = new CachedLink(TestLinks.Link(id), null);

        Assert.Equal(id, cached.Id);
        Assert.Equal(id, cached.PackedId.ToString());
    }

    [Fact]
    public void APlainCachedLinkHasNoExpiryNoClickLimitAndNoSmartRoute()
    {
        var cached = new CachedLink(TestLinks.Link(), null);

        Assert.Equal(long.MaxValue, cached.ExpiresAtMs);
        Assert.Equal(long.MaxValue, cached.MaxClicks);
        Assert.Null(cached.ExpiredUrl);
        Assert.Null(cached.Tally);
        Assert.Null(cached.Smart);
    }

    [Fact]
    public void ACachedLinkKeepsItsExpiryAndClickLimit()
    {
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        var tally = new ClickTally(2);
        var link = TestLinks.Link() with { ExpiresAt = expires, ExpiredUrl = "https://example.com/over", MaxClicks = 5 };

        var cached = new CachedLink(link, tally);

        Assert.Equal(1_800_000_000_000, cached.ExpiresAtMs);
        Assert.Equal("https://example.com/over", cached.ExpiredUrl);
        Assert.Equal(5, cached.MaxClicks);
        Assert.Same(tally, cached.Tally);
        Assert.Equal("lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P", cached.Id);
    }

    [Theory]
    [InlineData("https://example.com/a", "x=1", "https://example.com/a?x=1")]
    [InlineData("https://example.com/a?b=2", "x=1", "https://example.com/a?b=2&x=1")]
    [InlineData("https://example.com/a#top", "x=1", "https://example.com/a?x=1#top")]
    [InlineData("https://example.com/a#top?no", "x=1", "https://example.com/a?x=1#top?no")]
    [InlineData("https://example.com/a?b=2#top", "x=1", "https://example.com/a?b=2&x=1#top")]
    public void AForwardedQueryGoesBeforeTheFragment(string destination, string query, string expected)
    {
        var cached = new CachedLink(TestLinks.Link() with { Url = destination }, null);

        Assert.Equal(expected, cached.WithQuery(query));
    }
}
