using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics.CodeAnalysis;
using Tern.Server.Hosting;

namespace Tern.Server.Storage;

/// <summary>
/// A node's memory of rows that rarely change, read from storage once and forgotten all at once whenever any of them
/// changes: on the node that changes them as it commits, and on the others when the table's trigger announces the change
/// on <see cref="Channel"/> (<see cref="ChangeNoticeListener"/>), milliseconds later. It serves only while every change
/// is sure to be heard: with one node always, on PostgreSQL only while the node listens, and it is empty meanwhile. A
/// value read before the latest clear is not kept (<see cref="Mark"/>), and each entry lapses after a lifetime that
/// bounds how long a change made past every node (with its triggers off) goes unnoticed.
/// </summary>
public abstract class ChangeClearedCache<TValue>(TimeProvider timeProvider, TimeSpan lifetime, int capacity) : IChangeClearedCache
    where TValue : class
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _generation;
    private int _trusted;

    /// <summary>The notification channel that the table's trigger announces changes on.</summary>
    public abstract string Channel { get; }

    /// <summary>True while every change reaches this node, so entries may serve.</summary>
    public bool Trusted => Volatile.Read(ref _trusted) == 1;

    /// <summary>Taken before a value is read from storage and handed back to <see cref="Add"/>, so that a read older than a clear is not kept.</summary>
    public long Mark => Volatile.Read(ref _generation);

    public bool TryGet(string key, [NotNullWhen(true)] out TValue? value)
    {
        if (Trusted && _entries.TryGetValue(key, out var entry) && timeProvider.GetUtcNow() < entry.LapsesAt)
        {
            value = entry.Value;
            return true;
        }

        value = null;
        return false;
    }

    /// <summary>Keeps a value read from storage, unless the cache was cleared since <paramref name="mark"/> was taken.</summary>
    public void Add(string key, TValue value, long mark)
    {
        if (!Trusted || Mark != mark)
        {
            return;
        }

        if (_entries.Count >= capacity)
        {
            _entries.Clear(); // only a flood of distinct keys gets here
        }

        _entries[key] = new Entry(value, timeProvider.GetUtcNow() + lifetime);
        if (Mark != mark)
        {
            _entries.TryRemove(key, out _); // a clear raced the add: it may have run before the entry went in
        }
    }

    /// <summary>Forgets everything: one of the rows changed.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
    }

    /// <summary>From now on every change is heard: entries may serve.</summary>
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

    private sealed record Entry(TValue Value, DateTimeOffset LapsesAt);
}

/// <summary>Writing the rows a <see cref="IChangeClearedCache"/> holds.</summary>
public static class ChangeClearedCacheWrites
{
    /// <summary>
    /// Writes a change of rows that <paramref name="cache"/> holds, emptying it inside the transaction (with one writer,
    /// nothing that reads them for the cache runs between that and the commit) and again once the write ended, committed,
    /// failed or unknown (with many writers, a read may have run meanwhile without seeing the change). The node that
    /// changes the rows therefore never serves them stale once the call returns; the others hear the trigger's notice.
    /// </summary>
    public static async Task<T> WriteClearingAsync<T>(
        this Database database, IChangeClearedCache? cache, Func<DbConnection, DbTransaction, Task<T>> change, CancellationToken cancellationToken)
    {
        try
        {
            return await database.WriteAsync((connection, transaction) =>
            {
                cache?.Clear();
                return change(connection, transaction);
            }, cancellationToken);
        }
        finally
        {
            cache?.Clear();
        }
    }
}

/// <summary>What <see cref="ChangeNoticeListener"/> does with a cache cleared on change, whatever it holds.</summary>
public interface IChangeClearedCache
{
    /// <summary>The notification channel that the table's trigger announces changes on.</summary>
    string Channel { get; }

    /// <summary>Forgets everything: one of the rows changed.</summary>
    void Clear();

    /// <summary>From now on every change is heard: entries may serve.</summary>
    void Trust();

    /// <summary>Changes may go unheard: nothing serves until trusted again.</summary>
    void Distrust();
}

/// <summary>
/// Lets each <see cref="IChangeClearedCache"/> serve while this node hears every change of its rows: at once with one
/// node, whose changes all pass through it; on PostgreSQL while one connection of its own listens on all their channels
/// (a notice clears the cache of its channel), retried with backoff for as long as it takes when lost.
/// </summary>
public sealed class ChangeNoticeListener(
    Database database, IEnumerable<IChangeClearedCache> caches, TimeProvider timeProvider, ILogger<ChangeNoticeListener> logger)
    : BackgroundService
{
    private readonly Dictionary<string, IChangeClearedCache> _byChannel = caches.ToDictionary(c => c.Channel, StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasNotifications)
        {
            TrustAll(); // one node: whoever changes the rows clears the cache
            return;
        }

        var reconnect = StorageRetry.Forever(timeProvider, _ => !stoppingToken.IsCancellationRequested, (exception, retryIn) =>
        {
            DistrustAll();
            Log.ChangeNoticesLost(logger, exception, string.Join(", ", _byChannel.Keys), retryIn.TotalMilliseconds);
        });
        try
        {
            while (true)
            {
                await reconnect.ExecuteAsync(token => new ValueTask(database.ListenAsync([.. _byChannel.Keys], TrustAll, Heard, token)), stoppingToken);
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            DistrustAll();
        }
    }

    private void Heard(string channel, string payload)
    {
        if (_byChannel.TryGetValue(channel, out var cache))
        {
            cache.Clear();
        }
    }

    private void TrustAll()
    {
        foreach (var cache in _byChannel.Values)
        {
            cache.Trust();
        }
    }

    private void DistrustAll()
    {
        foreach (var cache in _byChannel.Values)
        {
            cache.Distrust();
        }
    }
}
