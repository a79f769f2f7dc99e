using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Access;

/// <summary>
/// The active API keys this node has read, by the hash of their secret, so that an API request needs no round trip
/// to storage to authenticate (on PostgreSQL under load, about a tenth of a link creation). Any change of a key clears
/// it: on this node once the change commits, on the others when the <c>api_keys</c> trigger's <c>NOTIFY tern_keys</c>
/// arrives (<see cref="ApiKeyChangeListener"/>), milliseconds later. It serves only while every change is heard: with
/// one node always, on PostgreSQL only while the node listens, and it is empty meanwhile. An entry also lapses after
/// <see cref="Lifetime"/>, which bounds how long a change made past Tern (a statement typed into psql) goes unnoticed.
/// </summary>
public sealed class ApiKeyCache(TimeProvider timeProvider)
{
    /// <summary>How long an entry serves at most.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>More entries than this and the cache starts again empty: keys are few, so only a flood of them gets here.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _keys = new(StringComparer.Ordinal);
    private long _generation;
    private int _trusted;

    /// <summary>True while every change of a key reaches this node, so entries may serve.</summary>
    public bool Trusted => Volatile.Read(ref _trusted) == 1;

    /// <summary>Taken before a key is read from storage and handed back to <see cref="Add"/>, so that a read older than a clear is not kept.</summary>
    public long Mark => Volatile.Read(ref _generation);

    public bool TryGet(string keyHash, [NotNullWhen(true)] out ApiKey? key)
    {
        if (Trusted && _keys.TryGetValue(keyHash, out var entry) && timeProvider.GetUtcNow() < entry.LapsesAt)
        {
            key = entry.Key;
            return true;
        }

        key = null;
        return false;
    }

    /// <summary>Keeps a key read from storage, unless the cache was cleared since <paramref name="mark"/> was taken.</summary>
    public void Add(string keyHash, ApiKey key, long mark)
    {
        if (!Trusted || Mark != mark)
        {
            return;
        }

        if (_keys.Count >= Capacity)
        {
            _keys.Clear();
        }

        _keys[keyHash] = new Entry(key, timeProvider.GetUtcNow() + Lifetime);
        if (Mark != mark)
        {
            _keys.TryRemove(keyHash, out _); // a clear raced the add: it may have run before the entry went in
        }
    }

    /// <summary>Forgets every key: a key changed.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _keys.Clear();
    }

    /// <summary>From now on every change of a key is heard: entries may serve.</summary>
    public void Trust()
    {
        Clear();
        Volatile.Write(ref _trusted, 1);
    }

    /// <summary>Changes may go unheard (the listening connection is lost): nothing serves until <see cref="Trust"/>.</summary>
    public void Distrust()
    {
        Volatile.Write(ref _trusted, 0);
        Clear();
    }

    private sealed record Entry(ApiKey Key, DateTimeOffset LapsesAt);
}

/// <summary>
/// Lets <see cref="ApiKeyCache"/> serve while this node hears every change of a key: at once with one node, whose
/// changes all pass through it; on PostgreSQL while a connection of its own listens on <see cref="Channel"/>, retried
/// with backoff for as long as it takes when lost.
/// </summary>
public sealed class ApiKeyChangeListener(Database database, ApiKeyCache cache, TimeProvider timeProvider, ILogger<ApiKeyChangeListener> logger)
    : BackgroundService
{
    public const string Channel = "tern_keys";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasNotifications)
        {
            cache.Trust(); // one node: AccessStore clears the cache at every change
            return;
        }

        var reconnect = StorageRetry.Forever(timeProvider, _ => !stoppingToken.IsCancellationRequested, (exception, retryIn) =>
        {
            cache.Distrust();
            Log.KeyChangesLost(logger, exception, retryIn.TotalMilliseconds);
        });
        try
        {
            while (true)
            {
                await reconnect.ExecuteAsync(token => new ValueTask(database.ListenAsync(Channel, cache.Trust, _ => cache.Clear(), token)), stoppingToken);
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            cache.Distrust();
        }
    }
}
