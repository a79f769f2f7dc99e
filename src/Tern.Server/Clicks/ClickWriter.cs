using System.Diagnostics;
using Microsoft.Extensions.Options;
using Polly;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>
/// Persists answered clicks: takes up to <c>MaxBatch</c> from the <see cref="ClickQueue"/> (waiting at most
/// <c>BatchWindowMilliseconds</c> for a batch to fill), enriches them and stores the batch in one transaction. When
/// storage fails, the batch is held and retried with backoff while the queue fills and pushes back on redirects;
/// nothing is dropped. It stops only after the web server has stopped answering (<see cref="StoppedAsync"/>), and
/// drains the queue and the fold first.
/// </summary>
/// <remarks>
/// What is derived from the clicks (counts, rollups, events) is the <see cref="ClickFolder"/>'s: on SQLite the
/// batch is only appended to the click journal and folded behind it, so redirects wait for the append alone; on
/// PostgreSQL it is folded into counts and events in the same transaction, so that many nodes can write at once, and
/// added to the rollups behind it.
/// </remarks>
public sealed class ClickWriter(
    ClickQueue queue,
    ClickEnricher enricher,
    ClickStore store,
    ClickFolder folder,
    LinkEvents outbox,
    Database database,
    IOptions<ClickOptions> options,
    TimeProvider timeProvider,
    ILogger<ClickWriter> logger) : IHostedLifecycleService
{
    private readonly ClickOptions _options = options.Value;
    private readonly CancellationTokenSource _abandon = new();

    // Every failure is retried; abandoning the writer at shutdown cancels the wait, which ends it.
    private readonly ResiliencePipeline _retry = StorageRetry.Forever(timeProvider, static _ => true);

    private Task _loop = Task.CompletedTask;
    private Task _fold = Task.CompletedTask;
    private long _nextRowId;
    private long _persisted;
    private long _lastWrittenAt = timeProvider.GetTimestamp();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Clicks stored since start (on SQLite their fold may still be under way).</summary>
    public long Persisted => Volatile.Read(ref _persisted);

    /// <summary>Clicks stored and folded since start, their rollup sums included.</summary>
    public long RolledUp => folder.RolledUp;

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
        folder.Progressed += ReportProgress;
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

            folder.RequestFlush();
            await progress.WaitAsync(cancellationToken);
        }
    }

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // The server no longer answers, so no click can arrive: drain what is queued, for as long as the host allows.
        queue.Complete();
        try
        {
            await _loop.WaitAsync(cancellationToken);
            await _fold.WaitAsync(cancellationToken);
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
        if (folder.Deferred)
        {
            await RetryUntilDoneAsync(async () => _nextRowId = await folder.InitializeAsync(_abandon.Token),
                exception => Log.RollupWriteFailed(logger, exception, "fold marks"));
            _fold = Task.Run(() => folder.RunAsync(_abandon.Token), CancellationToken.None);
        }
        else
        {
            _fold = Task.Run(() => folder.RunRangeRollupsAsync(_abandon.Token), CancellationToken.None);
        }

        var batch = new List<ClickCapture>(_options.MaxBatch);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync())
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

        folder.Complete();
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

    /// <summary>
    /// Stores the batch: on SQLite appended to the journal with the next rowids, then handed to the folder; on
    /// PostgreSQL folded into counts and events in the same transaction, its rollups left to <see cref="RangeRollups"/>.
    /// </summary>
    private Task WriteUntilStoredAsync(List<ClickCapture> batch)
    {
        List<Click>? clicks = null;
        return RetryUntilDoneAsync(async () =>
        {
            clicks ??= await EnrichAsync(batch);
            // The ids' text as the enricher made it: the captures carry them packed.
            var limited = clicks.Where((_, i) => batch[i].HasClickLimit).Select(c => c.LinkId).ToHashSet(StringComparer.Ordinal);
            if (folder.Deferred)
            {
                var first = _nextRowId;
                await database.WriteAsync(async (connection, transaction) =>
                {
                    await store.AppendToJournalAsync(connection, transaction, clicks, first, _abandon.Token);
                    return true;
                }, _abandon.Token, WritePriority.Clicks);
                _nextRowId = first + clicks.Count;
                folder.Journaled(clicks, limited, _nextRowId - 1);
            }
            else
            {
                var (appended, tx) = await database.WriteAsync(async (connection, transaction) =>
                {
                    await store.InsertAsync(connection, transaction, clicks, _abandon.Token);
                    var tx = await ClickStore.CurrentTransactionAsync(connection, transaction, _abandon.Token);
                    return ((await folder.FoldAsync(connection, transaction, clicks, limited, _abandon.Token)).Appended, tx);
                }, _abandon.Token, WritePriority.Background);
                if (appended)
                {
                    outbox.Signal();
                }

                folder.FoldedWithBatch(clicks.Count, tx);
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

    private async Task<List<Click>> EnrichAsync(List<ClickCapture> batch)
    {
        var clicks = new List<Click>(batch.Count);
        foreach (var capture in batch)
        {
            clicks.Add(await enricher.EnrichAsync(capture, _abandon.Token));
        }

        return clicks;
    }
}
