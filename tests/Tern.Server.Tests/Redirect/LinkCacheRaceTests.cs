using System.Data.Common;
using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Redirect;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Redirect;

/// <summary>
/// What the cache keeps when a change is announced while a load of a link is still reading storage (the load is held
/// at its storage read by a gate, so each race is played out in one fixed order), and when a link just created is
/// cached before its first redirect.
/// </summary>
public sealed class LinkCacheRaceTests(TernFactory tern) : IClassFixture<TernFactory>
{
    private const string Domain = "go.test";

    private readonly HttpClient _api = tern.Api();
    private readonly GatedDatabase _gated = new(tern.Get<Database>());

    [Fact]
    public async Task ALinkLoadedWhileItsCreationIsAnnouncedIsCached()
    {
        var (cache, slug) = await CacheWithLinkAsync();

        var load = await HeldLoadAsync(cache, slug);
        cache.ForgetMiss(Domain, slug);
        _gated.Release();

        Assert.NotNull(await load);
        Assert.Equal(CacheLookup.Found, cache.Lookup(Domain, slug, out _));
    }

    [Fact]
    public async Task AMissReadWhileTheSlugIsCreatedIsNotRemembered()
    {
        var cache = NewCache();
        var slug = UniqueSlug("late");

        var load = await HeldLoadAsync(cache, slug);
        cache.ForgetMiss(Domain, slug);
        _gated.Release();

        Assert.Null(await load);
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, slug, out _));
    }

    [Fact]
    public async Task ALinkLoadedWhileItChangesIsUsedOnceButNotCached()
    {
        var (cache, slug) = await CacheWithLinkAsync();

        var load = await HeldLoadAsync(cache, slug);
        cache.Invalidate(Domain, slug);
        _gated.Release();

        Assert.NotNull(await load);
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, slug, out _));
    }

    [Fact]
    public async Task AChangeOfAnotherLinkDoesNotStopALoadFromBeingCached()
    {
        var (cache, slug) = await CacheWithLinkAsync();

        var load = await HeldLoadAsync(cache, slug);
        var other = Enumerable.Range(0, 100).Select(i => slug + "-other-" + i)
            .First(candidate => LinkCache.StripeOf(Domain, candidate) != LinkCache.StripeOf(Domain, slug));
        cache.Invalidate(Domain, other);
        _gated.Release();

        Assert.NotNull(await load);
        Assert.Equal(CacheLookup.Found, cache.Lookup(Domain, slug, out _));
    }

    [Fact]
    public async Task ALoadRacingAClearOfTheWholeCacheIsNotCached()
    {
        var (cache, slug) = await CacheWithLinkAsync();

        var load = await HeldLoadAsync(cache, slug);
        cache.Clear();
        _gated.Release();

        Assert.NotNull(await load);
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, slug, out _));
    }

    [Fact]
    public async Task ALinkJustCreatedIsCachedWhenNothingOfItsStripeChanged()
    {
        var (cache, link) = await NewCacheAndCreatedLinkAsync();

        cache.Warm(link);

        Assert.Equal(CacheLookup.Found, cache.Lookup(Domain, link.Slug, out var cached));
        Assert.Equal(link.Url, cached!.Destination);
    }

    [Fact]
    public async Task ALinkJustCreatedIsNotCachedWhenItsStripeChangedSinceItsCreationBegan()
    {
        var (cache, link) = await NewCacheAndCreatedLinkAsync();

        // The change may be of this very link, committed before its creation was announced: its first redirect reads it.
        cache.Invalidate(Domain, link.Slug);
        cache.Warm(link);

        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, link.Slug, out _));
    }

    [Fact]
    public async Task ALinkJustCreatedIsNotCachedRightAfterTheWholeCacheWasCleared()
    {
        var (cache, link) = await NewCacheAndCreatedLinkAsync();

        cache.Clear();
        cache.Warm(link);

        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, link.Slug, out _));
    }

    [Fact]
    public async Task ALinkJustCreatedIsLeftToItsFirstRedirectWhenWarmingIsOff()
    {
        var (_, link) = await NewCacheAndCreatedLinkAsync();
        var cache = NewCache(new LinkCacheOptions { WarmOnCreate = false });

        cache.Warm(link);

        Assert.Equal(CacheLookup.Unknown, cache.Lookup(Domain, link.Slug, out _));
    }

    [Fact]
    public async Task ALinkWithAClickLimitIsCachedWithItsTally()
    {
        var (cache, link) = await NewCacheAndCreatedLinkAsync(maxClicks: 3);

        cache.Warm(link);

        Assert.Equal(CacheLookup.Found, cache.Lookup(Domain, link.Slug, out var cached));
        Assert.NotNull(cached!.Tally);
    }

    private async Task<(LinkCache Cache, Link Link)> NewCacheAndCreatedLinkAsync(long? maxClicks = null)
    {
        var created = await _api.CreateLinkAsync(new { url = "https://example.com/warm", slug = UniqueSlug("warm"), maxClicks });
        var link = await new LinkStore(tern.Get<Database>()).FindBySlugAsync(Domain, created.Slug, TestContext.Current.CancellationToken);
        return (NewCache(), link!);
    }

    private async Task<(LinkCache Cache, string Slug)> CacheWithLinkAsync()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/race", slug = UniqueSlug("race") });
        return (NewCache(), link.Slug);
    }

    private LinkCache NewCache(LinkCacheOptions? options = null) => new(
        new LinkStore(_gated), tern.Get<ClickTallies>(), Options.Create(options ?? new LinkCacheOptions()), TimeProvider.System);

    private async Task<Task<CachedLink?>> HeldLoadAsync(LinkCache cache, string slug)
    {
        _gated.Close();
        var load = cache.LoadAsync(Domain, slug, TestContext.Current.CancellationToken);
        await _gated.Entered.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        return load;
    }

    /// <summary>Storage whose reads wait at a gate the test opens.</summary>
    private sealed class GatedDatabase(Database inner) : Database
    {
        private TaskCompletionSource _gate = Open();
        private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public override StorageProvider Provider => inner.Provider;

        public override SqlDialect Dialect => inner.Dialect;

        public void Close()
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public void Release() => _gate.TrySetResult();

        public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            return await inner.OpenAsync(cancellationToken);
        }

        public override Task<T> WriteAsync<T>(
            Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground) =>
            inner.WriteAsync(work, cancellationToken, priority);

        private static TaskCompletionSource Open()
        {
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            gate.SetResult();
            return gate;
        }
    }
}
