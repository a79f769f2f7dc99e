using System.Diagnostics;
using Microsoft.Extensions.Options;
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
public sealed class ClickWriter(
    ClickQueue queue,
    ClickEnricher enricher,
    ClickStore store,
    LinkStore links,
    EventOutbox outbox,
    Database database,
    IOptions<ClickOptions> options,
    TimeProvider timeProvider,
    ILogger<ClickWriter> logger) : IHostedLifecycleService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly ClickOptions _options = options.Value;
    private readonly CancellationTokenSource _abandon = new();
    private Task _loop = Task.CompletedTask;
    private long _persisted;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Clicks written to storage since start.</summary>
    public long Persisted => Volatile.Read(ref _persisted);

    /// <summary>Batches that failed to write and were retried.</summary>
    public long FailedWrites { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Waits until every click accepted before the call is in storage.</summary>
    public async Task WaitForPersistedAsync(CancellationToken cancellationToken)
    {
        var target = queue.Enqueued;
        while (Persisted < target)
        {
            var progress = Volatile.Read(ref _progress).Task;
            if (Persisted >= target)
            {
                break;
            }

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
        var batch = new List<ClickCapture>(_options.MaxBatch);
        var reader = queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None))
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

            await WriteUntilStoredAsync(batch);
            batch.Clear();
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

    private async Task WriteUntilStoredAsync(List<ClickCapture> batch)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        List<Click>? clicks = null;
        while (true)
        {
            try
            {
                clicks ??= await EnrichAsync(batch);
                var limited = batch.Where(c => c.Link.MaxClicks != long.MaxValue).Select(c => c.Link.Id).ToHashSet(StringComparer.Ordinal);
                if (await WriteAsync(clicks, limited))
                {
                    outbox.Signal();
                }

                Interlocked.Add(ref _persisted, batch.Count);
                Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                return;
            }
            catch (Exception exception) when (!_abandon.IsCancellationRequested)
            {
                FailedWrites++;
                Log.ClickBatchFailed(logger, exception, batch.Count, queue.Depth);
                try
                {
                    await Task.Delay(backoff, timeProvider, _abandon.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
            catch (Exception)
            {
                return;
            }
        }
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

    /// <summary>Writes the batch; true when it appended events (link.clicked, or link.expired at a click limit).</summary>
    private Task<bool> WriteAsync(List<Click> clicks, IReadOnlyCollection<string> linksWithLimits)
    {
        var perLink = new Dictionary<string, long>(StringComparer.Ordinal);
        var rollups = new Dictionary<RollupKey, long>();
        foreach (var click in clicks)
        {
            perLink[click.LinkId] = perLink.GetValueOrDefault(click.LinkId) + 1;
            AddToRollups(rollups, click);
        }

        return database.WriteAsync(async (connection, transaction) =>
        {
            await store.InsertAsync(connection, transaction, clicks, _abandon.Token);
            await ClickStore.AddToLinkCountsAsync(connection, transaction, perLink, _abandon.Token);
            if (_options.UniqueVisitors)
            {
                await ClickStore.AddFirstSightingsAsync(connection, transaction, clicks, rollups, _abandon.Token);
            }

            await ClickStore.AddToRollupsAsync(connection, transaction, rollups, _abandon.Token);
            var appended = await AppendClickEventsAsync(connection, transaction, clicks);
            if (linksWithLimits.Count > 0)
            {
                var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
                foreach (var link in await links.MarkExpiredAsync(connection, transaction, now, linksWithLimits, linksWithLimits.Count, _abandon.Token))
                {
                    await outbox.AppendAsync(connection, transaction, EventTypes.LinkExpired, link, _abandon.Token);
                    appended = true;
                }
            }

            return appended;
        }, _abandon.Token);
    }

    /// <summary>
    /// link.clicked events go to the log only for workspaces that subscribe to them; everyone else reads clicks
    /// from GET /clicks, and the writer keeps its pace.
    /// </summary>
    private async Task<bool> AppendClickEventsAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, List<Click> clicks)
    {
        var appended = false;
        foreach (var workspace in clicks.GroupBy(c => c.WorkspaceId))
        {
            var subscriptions = await EventOutbox.SubscriptionsAsync(connection, transaction, workspace.Key, _abandon.Token);
            if (!subscriptions.Any(s => s.Events.Contains(EventTypes.LinkClicked, StringComparer.Ordinal)))
            {
                continue;
            }

            var clicked = (await links.FindManyAsync(connection, transaction, workspace.Key,
                [.. workspace.Select(c => c.LinkId).Distinct(StringComparer.Ordinal)], _abandon.Token)).ToDictionary(l => l.Id);
            foreach (var click in workspace)
            {
                if (clicked.TryGetValue(click.LinkId, out var link))
                {
                    await outbox.AppendAsync(connection, transaction, EventTypes.LinkClicked, link, _abandon.Token,
                        AnalyticsEndpoints.ToResponse(click), click.IsBot, subscriptions, click.TimestampMs);
                    appended = true;
                }
            }
        }

        return appended;
    }

    /// <summary>
    /// Each click adds one to its workspace's cells (hourly and daily, every dimension, and per link) and to its
    /// link's: hourly and daily totals, daily breakdowns. Per-link hourly breakdowns are left out on purpose: with
    /// clicks spread over many links they would be most of the writer's work, and a link's breakdowns by day are
    /// what its stats page shows; the hourly series stays exact.
    /// </summary>
    internal static void AddToRollups(Dictionary<RollupKey, long> rollups, Click click)
    {
        var hour = click.TimestampMs / ClickStore.HourMs * ClickStore.HourMs;
        var day = click.TimestampMs / ClickStore.DayMs * ClickStore.DayMs;
        Add(new RollupKey(click.LinkId, 'h', hour, "total", ""));
        AddBreakdowns(click.LinkId, 'd', day);
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
