using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Tests.Hosting;

public sealed class IdsTests
{
    [Fact]
    public void IdsSortByCreationTime()
    {
        var earlier = Ids.New("lnk", 1_700_000_000_000);
        var later = Ids.New("lnk", 1_700_000_000_001);
        Assert.True(string.CompareOrdinal(earlier, later) < 0);
        Assert.True(Ids.IsWellFormed(earlier, "lnk"));
        Assert.Equal(30, earlier.Length);
    }

    [Fact]
    public void IdsOfTheSameMillisecondDiffer()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => Ids.New("lnk", 1_700_000_000_000)).ToHashSet();
        Assert.Equal(1000, ids.Count);
    }

    [Fact]
    public void IdsMadeOneAfterAnotherInOneMillisecondSortInThatOrder()
    {
        // The current time, as the server uses it: an instant far from the others made in this process (which other
        // tests make at the same time) would get ids of its own, not the shared sequence.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = Enumerable.Range(0, 1000).Select(_ => Ids.New("evt", now)).ToList();
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void AnIdForAnInstantJustBehindTheLastOneStillSortsAfterIt()
    {
        // Two threads read the clock; the one that read the later instant asks first.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var first = Ids.New("lnk", now + 3);
        var second = Ids.New("lnk", now);
        Assert.True(string.CompareOrdinal(first, second) < 0);
    }

    [Theory]
    [InlineData("lnk_01M8DZ7CWJMHT2X6CW06Z0CZT")]
    [InlineData("key_01M8DZ7CWJMHT2X6CW06Z0CZTY")]
    [InlineData("lnk_01M8DZ7CWJMHT2X6CW06Z0CZTU")]
    [InlineData("' OR 1=1 --")]
    public void RejectsMalformedIds(string id) => Assert.False(Ids.IsWellFormed(id, "lnk"));

    [Fact]
    public void ApiKeysAreLongRandomAndStoredAsTheirHash()
    {
        var key = ApiKeySecret.Generate();
        Assert.StartsWith("tern_", key, StringComparison.Ordinal);
        Assert.Equal(37, key.Length);
        Assert.True(ApiKeySecret.IsWellFormed(key));
        Assert.NotEqual(key, ApiKeySecret.Generate());
        Assert.Equal(64, ApiKeySecret.Hash(key).Length);
        Assert.DoesNotContain(key, ApiKeySecret.Hash(key), StringComparison.Ordinal);
    }
}
