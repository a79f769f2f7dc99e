using System.Data.Common;
using System.Diagnostics;
using Microsoft.Extensions.Options;
using Polly;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>
/// Persists answered clicks: takes up to <c>MaxBatch</c> from the <see cref="ClickQueue"/> (waiting at most
/// <c>BatchWindowMilliseconds</c> for a batch to fill), enriches them and writes the batch in one transaction
/// with the links' counts and the rollups. When storage fails, the batch is held and retried with backoff while
/// the queue fills and pushes back on redirects; nothing is dropped. It stops only after the web server has
/// stopped answering (<see cref="StoppedAsync"/>), and drains the queue first.
/// </summary>
/// <remarks>
/// On SQLite the rollup sums of several batches are gathered in memory for up to
/// <see cref="ClickOptions.RollupIntervalMilliseconds"/> and written together with a mark (the rowid of the last
/// click they cover): a busy link's cells are then upserted once per interval, not once per batch, which is most of
/// a batch's work. Clicks and link counts are still written with each batch; after a crash the writer first adds up
/// the clicks stored after the mark (<see cref="ClickStore.NotRolledUpAsync"/>).
/// </remarks>
public sealed class ClickWriter(
    ClickQueue queue,
    ClickEnricher enricher,
    ClickStore store,
    LinkStore links,
    LinkEvents outbox,
    Database database,
    IOptions<ClickOptions> options,
    TimeProvider timeProvider,
    ILogger<ClickWriter> logger) : IHostedLifecycleService
{
    /// <summary>Most rollup cells held in memory before they are written, whatever the interval.</summary>
    private const int MaxPendingCells = 200_000;

    private readonly ClickOptions _options = options.Value;
    private readonly CancellationTokenSource _abandon = new();

    // Every failure is retried; abandoning the writer at shutdown cancels the wait, which ends it.
    private readonly ResiliencePipeline _retry = StorageRetry.Forever(timeProvider, static _ => true);
    private readonly bool _marksRollups = store.MarksRollups;
    private readonly TimeSpan _rollupInterval = store.MarksRollups
        ? TimeSpan.FromMilliseconds(options.Value.RollupIntervalMilliseconds)
        : TimeSpan.Zero;

    // Rollup sums of committed batches not yet written (only while _rollupInterval > 0), the rowid of the last
    // click they cover, the number of clicks they hold and since when they wait.
    private readonly Dictionary<RollupKey, long> _pending = [];
    private long _pendingThrough;
    private long _pendingClicks;
    private long _pendingSince;

    private readonly Lock _wakeLock = new();
    private CancellationTokenSource _wake = new();
    private volatile bool _flushRequested;
    private Task _loop = Task.CompletedTask;
    private long _persisted;
    private long _lastWrittenAt = timeProvider.GetTimestamp();
    private long _rolledUp;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Clicks written to storage since start (their rollup sums may still be in memory).</summary>
    public long Persisted => Volatile.Read(ref _persisted);

    /// <summary>Clicks written to storage with their rollup sums since start.</summary>
    public long RolledUp => Volatile.Read(ref _rolledUp);

    /// <summary>Batches that failed to write and were retried.</summary>
    public long FailedWrites { get; private set; }

    /// <summary>How far the writer trails the redirects: 0 while nothing waits, else the time since its last committed batch.</summary>
    public TimeSpan Lag
    {
        get
        {
            var last = Volatile.Read(ref _lastWrittenAt);
            return queue.Depth == 0 ? TimeSpan.Zero : timeProvider.GetElapsedTime(last);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Waits until every click accepted before the call is in storage, its rollup sums included (which it asks the
    /// writer to write at once rather than at the end of their interval).
    /// </summary>
    public async Task WaitForPersistedAsync(CancellationToken cancellationToken)
    {
        var target = queue.Enqueued;
        while (RolledUp < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            if (RolledUp >= target)
            {
                break;
            }

            RequestFlush();
            await progress.WaitAsync(cancellationToken);
        }
    }

    private void RequestFlush()
    {
        _flushRequested = true;
        lock (_wakeLock)
        {
            _wake.Cancel();
        }
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // The server no longer answers, so no click can arrive: drain what is queued, for as long as the host allows.
        queue.Complete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Log.ClicksAbandoned(logger, queue.Depth);
            await _abandon.CancelAsync();
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync()
    {
        if (_marksRollups)
        {
            await RetryUntilDoneAsync(RollUpLeftoversAsync, "rollups after the mark");
        }

        var batch = new List<ClickCapture>(_options.MaxBatch);
        var reader = queue.Reader;
        while (await WaitForClicksAsync(reader))
        {
            var window = Stopwatch.StartNew();
            while (batch.Count < _options.MaxBatch)
            {
                if (reader.TryRead(out var click))
                {
                    batch.Add(click);
                    continue;
                }

                var remaining = TimeSpan.FromMilliseconds(_options.BatchWindowMilliseconds) - window.Elapsed;
                if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(reader, remaining))
                {
                    break;
                }
            }

            if (batch.Count > 0)
            {
                await WriteUntilStoredAsync(batch);
                batch.Clear();
            }
        }

        await RetryUntilDoneAsync(FlushAsync, "rollups");
    }

    /// <summary>
    /// Waits for clicks, or until the pending rollup sums are due (then writes them); false once the queue is
    /// completed and empty.
    /// </summary>
    private async Task<bool> WaitForClicksAsync(System.Threading.Channels.ChannelReader<ClickCapture> reader)
    {
        while (true)
        {
            if (reader.TryPeek(out _))
            {
                return true;
            }

            if (_pending.Count > 0 && (_flushRequested || RollupsDue()))
            {
                await RetryUntilDoneAsync(FlushAsync, "rollups");
                continue;
            }

            CancellationTokenSource wake;
            lock (_wakeLock)
            {
                if (_wake.IsCancellationRequested)
                {
                    _wake.Dispose();
                    _wake = new CancellationTokenSource();
                }

                wake = _wake;
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(wake.Token);
            if (_pending.Count > 0)
            {
                var due = _rollupInterval - Stopwatch.GetElapsedTime(_pendingSince);
                wait.CancelAfter(due > TimeSpan.Zero ? due : TimeSpan.FromMilliseconds(1));
            }

            try
            {
                if (!await reader.WaitToReadAsync(wait.Token))
                {
                    return false;
                }
            }
            catch (OperationCanceledException)
            {
                // Rollups due, or asked for: go round.
            }
        }
    }

    private static async Task<bool> WaitForMoreAsync(System.Threading.Channels.ChannelReader<ClickCapture> reader, TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await reader.WaitToReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private bool RollupsDue() => Stopwatch.GetElapsedTime(_pendingSince) >= _rollupInterval;

    private Task WriteUntilStoredAsync(List<ClickCapture> batch)
    {
        List<Click>? clicks = null;
        Dictionary<RollupKey, long>? sums = null;
        return RetryUntilDoneAsync(async () =>
        {
            clicks ??= await EnrichAsync(batch);
            sums ??= Sum(clicks);
            var limited = batch.Where(c => c.HasClickLimit).Select(c => c.LinkId).ToHashSet(StringComparer.Ordinal);
            if (await WriteAsync(clicks, sums, limited))
            {
                outbox.Signal();
            }

            Interlocked.Add(ref _persisted, batch.Count);
            Volatile.Write(ref _lastWrittenAt, timeProvider.GetTimestamp());
            ReportProgress();
        }, exception => Log.ClickBatchFailed(logger, exception, batch.Count, queue.Depth));
    }

    private Task RetryUntilDoneAsync(Func<Task> write, string what) =>
        RetryUntilDoneAsync(write, exception => Log.RollupWriteFailed(logger, exception, what));

    /// <summary>
    /// Runs a write until it succeeds, with backoff, while the queue fills and pushes back on redirects; gives up
    /// only when the writer is abandoned at shutdown.
    /// </summary>
    private async Task RetryUntilDoneAsync(Func<Task> write, Action<Exception> logFailure)
    {
        try
        {
            await _retry.ExecuteAsync(async _ =>
            {
                try
                {
                    await write();
                }
                catch (Exception exception) when (!_abandon.IsCancellationRequested)
                {
                    FailedWrites++;
                    logFailure(exception);
                    throw;
                }
            }, _abandon.Token);
        }
        catch (Exception) when (_abandon.IsCancellationRequested)
        {
            // Abandoned at shutdown: what is still held is given up.
        }
    }

    private void ReportProgress() =>
        Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Writes the pending rollup sums and their mark.</summary>
    private async Task FlushAsync()
    {
        _flushRequested = false;
        if (_pending.Count == 0)
        {
            return;
        }

        await database.WriteAsync(async (connection, transaction) =>
        {
            await store.AddToRollupsAsync(connection, transaction, _pending, _abandon.Token);
            await ClickStore.SetRolledUpThroughAsync(connection, transaction, _pendingThrough, _abandon.Token);
            return true;
        }, _abandon.Token, WritePriority.Background);
        PendingWritten(0);
        ReportProgress();
    }

    /// <summary>The pending sums are stored, with those of <paramref name="alongside"/> clicks written in the same transaction.</summary>
    private void PendingWritten(long alongside)
    {
        _flushRequested = false;
        Interlocked.Add(ref _rolledUp, _pendingClicks + alongside);
        (_pendingClicks, _pendingSince) = (0, 0);
        _pending.Clear();
    }

    /// <summary>After a crash: adds up the clicks stored after the rollup mark, before any new batch.</summary>
    private Task RollUpLeftoversAsync() =>
        database.WriteAsync(async (connection, transaction) =>
        {
            var (clicks, through) = await ClickStore.NotRolledUpAsync(connection, transaction, _abandon.Token);
            if (clicks.Count > 0)
            {
                await store.AddToRollupsAsync(connection, transaction, Sum(clicks), _abandon.Token);
                await ClickStore.SetRolledUpThroughAsync(connection, transaction, through, _abandon.Token);
                Log.ClicksRolledUpAfterRestart(logger, clicks.Count);
            }

            return true;
        }, _abandon.Token, WritePriority.Background);

    private static Dictionary<RollupKey, long> Sum(IReadOnlyList<Click> clicks)
    {
        var sums = new Dictionary<RollupKey, long>();
        foreach (var click in clicks)
        {
            AddToRollups(sums, click);
        }

        return sums;
    }

    private async Task<List<Click>> EnrichAsync(List<ClickCapture> batch)
    {
        var clicks = new List<Click>(batch.Count);
        foreach (var capture in batch)
        {
            clicks.Add(await enricher.EnrichAsync(capture, _abandon.Token));
        }

        return clicks;
    }

    /// <summary>
    /// Writes the batch in one transaction: the batch itself (<see cref="StoreBatchAsync"/>), the rollups the policy
    /// says are due (<see cref="WriteDueRollupsAsync"/>) and its events (<see cref="PublishAsync"/>). True when it
    /// appended events (link.clicked, or link.expired at a click limit).
    /// </summary>
    private async Task<bool> WriteAsync(List<Click> clicks, Dictionary<RollupKey, long> sums, IReadOnlyCollection<string> linksWithLimits)
    {
        var gather = _rollupInterval > TimeSpan.Zero;
        var flush = !gather || _flushRequested || (_pending.Count > 0 && RollupsDue()) || _pending.Count + sums.Count > MaxPendingCells;
        if (gather)
        {
            MergePending(sums, +1);
        }

        long through = 0;
        bool appended;
        try
        {
            appended = await database.WriteAsync(async (connection, transaction) =>
            {
                through = await StoreBatchAsync(connection, transaction, clicks);
                if (flush)
                {
                    await WriteDueRollupsAsync(connection, transaction, gather ? _pending : sums, through);
                }

                return await PublishAsync(connection, transaction, clicks, linksWithLimits);
            }, _abandon.Token, WritePriority.Background);
        }
        catch
        {
            if (gather)
            {
                MergePending(sums, -1);
            }

            throw;
        }

        if (flush)
        {
            PendingWritten(clicks.Count);
        }
        else
        {
            _pendingSince = _pendingClicks == 0 ? Stopwatch.GetTimestamp() : _pendingSince;
            _pendingClicks += clicks.Count;
            _pendingThrough = through;
        }

        return appended;
    }

    /// <summary>
    /// Stores the raw clicks, adds them to their links' counts and, with unique visitors on, records first sightings
    /// with their cells. Returns the rowid of the last click where rollups are marked, else 0.
    /// </summary>
    private async Task<long> StoreBatchAsync(DbConnection connection, DbTransaction transaction, List<Click> clicks)
    {
        var perLink = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var click in clicks)
        {
            perLink[click.LinkId] = perLink.GetValueOrDefault(click.LinkId) + 1;
        }

        await store.InsertAsync(connection, transaction, clicks, _abandon.Token);
        await LinkClickCounts.AddAsync(connection, transaction, perLink, _abandon.Token);
        var through = _marksRollups ? await ClickStore.LastInsertedRowIdAsync(connection, transaction, _abandon.Token) : 0;
        if (_options.UniqueVisitors)
        {
            // First sightings are decided here, against what is stored, so their cells go with the batch.
            var uniques = new Dictionary<RollupKey, long>();
            await ClickStore.AddFirstSightingsAsync(connection, transaction, clicks, uniques, _abandon.Token);
            await store.AddToRollupsAsync(connection, transaction, uniques, _abandon.Token);
        }

        return through;
    }

    /// <summary>Writes rollup sums, with the mark of the last click they cover where rollups are marked.</summary>
    private async Task WriteDueRollupsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<RollupKey, long> sums, long through)
    {
        await store.AddToRollupsAsync(connection, transaction, sums, _abandon.Token);
        if (_marksRollups)
        {
            await ClickStore.SetRolledUpThroughAsync(connection, transaction, through, _abandon.Token);
        }
    }

    /// <summary>Appends the batch's events: link.clicked for every click, link.expired for links it took to their click limit.</summary>
    private async Task<bool> PublishAsync(DbConnection connection, DbTransaction transaction, List<Click> clicks, IReadOnlyCollection<string> linksWithLimits)
    {
        var appended = await AppendClickEventsAsync(connection, transaction, clicks);
        if (linksWithLimits.Count > 0)
        {
            var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var expired = await links.MarkExpiredAsync(connection, transaction, now, linksWithLimits, linksWithLimits.Count, _abandon.Token);
            await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkExpired, expired, _abandon.Token);
            appended |= expired.Count > 0;
        }

        return appended;
    }

    /// <summary>Adds a batch's sums to the pending ones (<paramref name="sign"/> +1), or takes them back out (-1).</summary>
    private void MergePending(Dictionary<RollupKey, long> batchSums, int sign)
    {
        foreach (var (key, count) in batchSums)
        {
            var sum = _pending.GetValueOrDefault(key) + (sign * count);
            if (sum == 0)
            {
                _pending.Remove(key);
            }
            else
            {
                _pending[key] = sum;
            }
        }
    }

    /// <summary>
    /// Every click is a link.clicked event in the log, whether or not a webhook subscribes: polling integrations and
    /// event streams read it there. Per batch this costs one read of the clicked links per workspace and one multi-row
    /// insert; the payloads are serialized once and reused by every delivery.
    /// </summary>
    private async Task<bool> AppendClickEventsAsync(DbConnection connection, DbTransaction transaction, List<Click> clicks)
    {
        var appended = false;
        foreach (var workspace in clicks.GroupBy(c => c.WorkspaceId))
        {
            var clicked = (await links.FindManyAsync(connection, transaction, workspace.Key,
                [.. workspace.Select(c => c.LinkId).Distinct(StringComparer.Ordinal)], _abandon.Token)).ToDictionary(l => l.Id);
            List<LinkEvent> events = [.. workspace.Where(click => clicked.ContainsKey(click.LinkId))
                .Select(click => new LinkEvent(clicked[click.LinkId], click.ToResponse(), click.IsBot, click.TimestampMs))];
            await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkClicked, events, _abandon.Token);
            appended |= events.Count > 0;
        }

        return appended;
    }

    /// <summary>
    /// Each click adds one to its workspace's cells (hourly and daily, every dimension, and per link) and to its
    /// link's: hourly and daily totals, daily breakdowns, and the destinations served (a link's only: which rule or
    /// variant won is a question about one link). Per-link hourly breakdowns are left out on purpose: with
    /// clicks spread over many links they would be most of the writer's work, and a link's breakdowns by day are
    /// what its stats page shows; the hourly series stays exact.
    /// </summary>
    public static void AddToRollups(Dictionary<RollupKey, long> rollups, Click click)
    {
        var hour = click.TimestampMs / ClickStore.HourMs * ClickStore.HourMs;
        var day = click.TimestampMs / ClickStore.DayMs * ClickStore.DayMs;
        Add(new RollupKey(click.LinkId, 'h', hour, "total", ""));
        AddBreakdowns(click.LinkId, 'd', day);
        Add(new RollupKey(click.LinkId, 'd', day, "destination", click.Destination ?? ""));
        foreach (var (granularity, bucket) in (ReadOnlySpan<(char, long)>)[('h', hour), ('d', day)])
        {
            AddBreakdowns(click.WorkspaceId, granularity, bucket);
            Add(new RollupKey(click.WorkspaceId, granularity, bucket, "link", click.LinkId));
        }

        void AddBreakdowns(string scope, char granularity, long bucket)
        {
            Add(new RollupKey(scope, granularity, bucket, "total", ""));
            Add(new RollupKey(scope, granularity, bucket, "country", click.Country ?? ""));
            Add(new RollupKey(scope, granularity, bucket, "device", click.Device));
            Add(new RollupKey(scope, granularity, bucket, "browser", click.Browser));
            Add(new RollupKey(scope, granularity, bucket, "os", click.Os));
            Add(new RollupKey(scope, granularity, bucket, "referrer", click.ReferrerHost ?? ""));
        }

        void Add(RollupKey key) => rollups[key] = rollups.GetValueOrDefault(key) + 1;
    }
}
