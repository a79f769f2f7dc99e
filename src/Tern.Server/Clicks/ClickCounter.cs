using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Clicks;

/// <summary>
/// The click count of one link on this node: <see cref="Total"/> is the stored count when the link was first
/// loaded plus every click counted here since; <see cref="Unflushed"/> is what storage has not seen yet.
/// </summary>
public sealed class ClickTally(string linkId, long stored)
{
    private long _total = stored;
    private long _unflushed;

    public string LinkId { get; } = linkId;

    public long Total => Volatile.Read(ref _total);

    public long Unflushed => Volatile.Read(ref _unflushed);

    /// <summary>Counts one click unless <paramref name="max"/> is reached; exact under concurrency on one node.</summary>
    internal bool TryCount(long max, ClickCounter counter)
    {
        if (Interlocked.Increment(ref _total) > max)
        {
            Interlocked.Decrement(ref _total);
            return false;
        }

        if (Interlocked.Increment(ref _unflushed) == 1)
        {
            counter.MarkDirty(this);
        }

        return true;
    }

    internal long TakeUnflushed() => Interlocked.Exchange(ref _unflushed, 0);

    internal void ReturnUnflushed(long count, ClickCounter counter)
    {
        if (Interlocked.Add(ref _unflushed, count) == count)
        {
            counter.MarkDirty(this);
        }
    }
}

/// <summary>
/// Counts answered redirects per link and writes the counts to storage every <c>Tern:Clicks:FlushSeconds</c>
/// in one transaction. Counting costs two interlocked increments; a tally that becomes dirty is queued once,
/// so a flush touches only links clicked since the last one. A failed write keeps the counts for the next
/// flush; stopping the host flushes what is left.
/// </summary>
public sealed class ClickCounter(LinkStore store, IOptions<ClickOptions> options, ILogger<ClickCounter> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, ClickTally> _tallies = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ClickTally> _dirty = new();
    // Never disposed: the host may stop this service after disposing singletons, and the final flush must still run.
    private readonly SemaphoreSlim _flushGate = new(1, 1);

    /// <summary>The tally of a link, created from its stored count the first time the link is loaded.</summary>
    public ClickTally TallyFor(string linkId, long stored) => _tallies.GetOrAdd(linkId, static (id, s) => new ClickTally(id, s), stored);

    /// <summary>The count this node knows for a link: storage's, or more when clicks await their flush.</summary>
    public long CountFor(string linkId, long stored) =>
        _tallies.TryGetValue(linkId, out var tally) ? Math.Max(stored, tally.Total) : stored;

    public void Forget(string linkId) => _tallies.TryRemove(linkId, out _);

    internal void MarkDirty(ClickTally tally) => _dirty.Enqueue(tally);

    /// <summary>Writes every pending count now.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken);
        var batch = new List<(ClickTally Tally, long Count)>();
        try
        {
            while (_dirty.TryDequeue(out var tally))
            {
                var count = tally.TakeUnflushed();
                if (count > 0)
                {
                    batch.Add((tally, count));
                }
            }

            if (batch.Count > 0)
            {
                await store.AddClicksAsync([.. batch.Select(b => (b.Tally.LinkId, b.Count))], cancellationToken);
            }
        }
        catch (Exception exception)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Log.ClickFlushFailed(logger, exception, batch.Count);
            }

            foreach (var (tally, count) in batch)
            {
                tally.ReturnUnflushed(count, this);
            }
        }
        finally
        {
            _flushGate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.FlushSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }
}
