using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tern.Contracts;
using Tern.Server.Redirect;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Redirect;

/// <summary>
/// After changes went unheard (the change listener reconnecting), the cache keeps the links that did not change and
/// drops those that did. The changes are written straight to storage, past the services that tell the cache, and on
/// PostgreSQL with the session's triggers off, so that no node hears of them.
/// </summary>
public abstract class LinkCacheRevalidationTests(TernFactory tern)
{
    [Fact]
    public async Task RevalidatingDropsTheLinksChangedDeletedOrClickLimitedAndForgetsMissesButKeepsTheRest()
    {
        var ct = TestContext.Current.CancellationToken;
        var api = tern.Api();
        var changed = await api.CreateLinkAsync(new { url = "https://example.com/changed", slug = UniqueSlug("rv-changed") });
        var deleted = await api.CreateLinkAsync(new { url = "https://example.com/deleted", slug = UniqueSlug("rv-deleted") });
        var moved = await api.CreateLinkAsync(new { url = "https://example.com/moved", slug = UniqueSlug("rv-moved") });
        var same = await api.CreateLinkAsync(new { url = "https://example.com/same", slug = UniqueSlug("rv-same") });
        var limited = await api.CreateLinkAsync(new { url = "https://example.com/limited", slug = UniqueSlug("rv-limited"), maxClicks = 5 });
        var unknown = UniqueSlug("rv-unknown");
        var cache = tern.Get<LinkCache>();
        foreach (var link in new[] { changed, deleted, moved, same, limited })
        {
            Assert.NotNull(await cache.LoadAsync(link.Domain, link.Slug, ct));
        }

        Assert.Null(await cache.LoadAsync(same.Domain, unknown, ct));

        await UnheardAsync(ct,
            ("UPDATE links SET url = 'https://example.com/changed/2', updated_at = updated_at + 1 WHERE id = @id", changed.Id),
            ("DELETE FROM links WHERE id = @id", deleted.Id),
            ("UPDATE links SET slug = slug || '-x' WHERE id = @id", moved.Id));

        Assert.Equal(CacheLookup.Found, cache.Lookup(changed.Domain, changed.Slug, out var stale));
        Assert.Equal("https://example.com/changed", stale!.Destination);

        await cache.RevalidateAsync(ct);

        Assert.Equal(CacheLookup.Unknown, cache.Lookup(changed.Domain, changed.Slug, out _));
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(deleted.Domain, deleted.Slug, out _));
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(moved.Domain, moved.Slug, out _));
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(limited.Domain, limited.Slug, out _));
        Assert.Equal(CacheLookup.Unknown, cache.Lookup(same.Domain, unknown, out _));
        Assert.Equal(CacheLookup.Found, cache.Lookup(same.Domain, same.Slug, out var kept));
        Assert.Equal("https://example.com/same", kept!.Destination);

        var reloaded = await cache.LoadAsync(changed.Domain, changed.Slug, ct);
        Assert.Equal("https://example.com/changed/2", reloaded!.Destination);
    }

    /// <summary>Runs statements in one transaction that no cache hears of.</summary>
    private async Task UnheardAsync(CancellationToken ct, params (string Sql, string Id)[] statements)
    {
        var database = tern.Get<Database>();
        await using var connection = await database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (database.Provider == StorageProvider.Postgres)
        {
            // Ordinary triggers (the NOTIFY of link changes among them) do not fire for a replica's session.
            await connection.ExecuteAsync("SET LOCAL session_replication_role = replica", transaction: transaction);
        }

        foreach (var (sql, id) in statements)
        {
            Assert.Equal(1, await connection.ExecuteAsync(sql, new { id }, transaction));
        }

        await transaction.CommitAsync(ct);
    }
}

public sealed class LinkCacheRevalidationTestsOnSqlite(TernFactory tern) : LinkCacheRevalidationTests(tern), IClassFixture<TernFactory>;

public sealed class LinkCacheRevalidationTestsOnPostgres(PostgresTernFactory tern) : LinkCacheRevalidationTests(tern), IClassFixture<PostgresTernFactory>
{
    [Fact]
    public async Task ALostChangeListenerReconnectsAndKeepsTheCachedLinksThatDidNotChange()
    {
        var ct = TestContext.Current.CancellationToken;
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/kept", slug = UniqueSlug("rv-kept") });
        var cache = tern.Get<LinkCache>();
        var listener = tern.Services.GetServices<IHostedService>().OfType<LinkChangeListener>().Single();
        Assert.NotNull(await cache.LoadAsync(link.Domain, link.Slug, ct));
        var resyncs = listener.Resyncs;

        var database = tern.Get<Database>();
        await using (var connection = await database.OpenAsync(ct))
        {
            var ended = await connection.ExecuteScalarAsync<int>(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN tern_links') AS t");
            Assert.Equal(1, ended);
        }

        for (var waited = 0; listener.Resyncs == resyncs; waited += 50)
        {
            Assert.True(waited < 60_000, "the change listener never reconnected");
            await Task.Delay(50, ct);
        }

        Assert.True(listener.Listening);
        Assert.Equal(CacheLookup.Found, cache.Lookup(link.Domain, link.Slug, out _));
    }
}
