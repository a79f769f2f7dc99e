using Microsoft.Extensions.Time.Testing;
using Tern.Server.Access;

namespace Tern.Server.Tests.Access;

public sealed class ApiKeyCacheTests
{
    private static readonly ApiKey Key = new("key_1", "ws_default", "ci", "tern_abcd", ["links:read"], DateTimeOffset.UnixEpoch);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));

    private ApiKeyCache Trusted()
    {
        var cache = new ApiKeyCache(_clock);
        cache.Trust();
        return cache;
    }

    [Fact]
    public void AKeyAddedIsFoundByItsHash()
    {
        var cache = Trusted();

        cache.Add("hash-1", Key, cache.Mark);

        Assert.True(cache.TryGet("hash-1", out var found));
        Assert.Same(Key, found);
        Assert.False(cache.TryGet("hash-2", out _));
    }

    [Fact]
    public void AKeyReadBeforeAClearIsNotKept()
    {
        var cache = Trusted();
        var mark = cache.Mark; // the read from storage starts

        cache.Clear(); // a revocation commits meanwhile
        cache.Add("hash-1", Key, mark);

        Assert.False(cache.TryGet("hash-1", out _));
    }

    [Fact]
    public void ClearingForgetsEveryKey()
    {
        var cache = Trusted();
        cache.Add("hash-1", Key, cache.Mark);
        cache.Add("hash-2", Key, cache.Mark);

        cache.Clear();

        Assert.False(cache.TryGet("hash-1", out _));
        Assert.False(cache.TryGet("hash-2", out _));
    }

    [Fact]
    public void NothingServesBeforeTheCacheIsTrustedOrAfterItIsDistrusted()
    {
        var cache = new ApiKeyCache(_clock);
        cache.Add("hash-1", Key, cache.Mark);
        Assert.False(cache.TryGet("hash-1", out _));

        cache.Trust();
        cache.Add("hash-1", Key, cache.Mark);
        Assert.True(cache.TryGet("hash-1", out _));

        cache.Distrust();
        Assert.False(cache.TryGet("hash-1", out _));
        cache.Trust();
        Assert.False(cache.TryGet("hash-1", out _)); // what was held before the gap is gone
    }

    [Fact]
    public void AnEntryLapsesAfterItsLifetime()
    {
        var cache = Trusted();
        cache.Add("hash-1", Key, cache.Mark);

        _clock.Advance(ApiKeyCache.Lifetime - TimeSpan.FromMilliseconds(1));
        Assert.True(cache.TryGet("hash-1", out _));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGet("hash-1", out _));
    }

    [Fact]
    public void AFullCacheStartsAgainEmpty()
    {
        var cache = Trusted();
        for (var i = 0; i < ApiKeyCache.Capacity; i++)
        {
            cache.Add($"hash-{i}", Key, cache.Mark);
        }

        cache.Add("one-more", Key, cache.Mark);

        Assert.True(cache.TryGet("one-more", out _));
        Assert.False(cache.TryGet("hash-0", out _));
    }
}
