using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Tern.Server.Redirect;
using Tern.Server.Storage;

namespace Tern.Benchmarks;

/// <summary>
/// The server's own <see cref="LinkCache"/> (from Tern's container, over a SQLite file holding <see cref="Links"/>
/// links, all loaded): a hit, a known-missing slug, and the storage read that a cache miss costs.
/// </summary>
[MemoryDiagnoser]
public class LinkCacheBenchmarks
{
    private TernHost _host = null!;
    private LinkCache _cache = null!;
    private Database _database = null!;
    private string[] _slugs = [];
    private string _plainConnectionString = "";
    private int _next;

    [Params(100_000)]
    public int Links { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _host = TernHost.Start(Links);
        _cache = _host.Get<LinkCache>();
        _database = _host.Get<Database>();
        _slugs = [.. Enumerable.Range(1, Links).Select(TernHost.Slug)];
        Parallel.ForEach(_slugs, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            slug => _cache.LoadAsync(TernHost.Domain, slug, CancellationToken.None).GetAwaiter().GetResult());
        if (_cache.Count != Links)
        {
            throw new InvalidOperationException($"{_cache.Count} links cached, expected {Links}.");
        }

        _cache.LoadAsync(TernHost.Domain, "nope", CancellationToken.None).GetAwaiter().GetResult();
        // The connection string SqliteDatabase builds, so that only its PRAGMAs differ.
        _plainConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _host.DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    /// <summary>The same slug every time: the dictionary entry stays in the CPU cache.</summary>
    [Benchmark]
    public CacheLookup Lookup_hit_same_slug() => _cache.Lookup(TernHost.Domain, "b4242", out _);

    /// <summary>Slugs in a stride over all links, as random traffic touches them.</summary>
    [Benchmark]
    public CacheLookup Lookup_hit_spread()
    {
        var i = _next = (_next + 7919) % _slugs.Length;
        return _cache.Lookup(TernHost.Domain, _slugs[i], out _);
    }

    [Benchmark]
    public CacheLookup Lookup_known_missing() => _cache.Lookup(TernHost.Domain, "nope", out _);

    /// <summary>What one cache miss costs: a pooled connection, its PRAGMAs, the query, the mapping.</summary>
    [Benchmark]
    public Task<CachedLink?> LoadAsync_from_sqlite() => _cache.LoadAsync(TernHost.Domain, "b4242", CancellationToken.None);

    /// <summary>Opening a connection as the server does (from the pool, then three PRAGMAs), and closing it.</summary>
    [Benchmark]
    public async Task Database_OpenAsync_with_pragmas()
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
    }

    /// <summary>The same pooled open and close without the PRAGMAs.</summary>
    [Benchmark]
    public async Task SqliteConnection_OpenAsync_pooled_only()
    {
        await using var connection = new SqliteConnection(_plainConnectionString);
        await connection.OpenAsync();
    }
}
