using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Dapper;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>
/// PostgreSQL: adds stored clicks to the stats rollups behind the click writer, in one set-based statement per fold,
/// so that a click batch's transaction holds only the clicks, the links' counts and the events, and redirects never
/// wait for rollup upserts.
/// </summary>
/// <remarks>
/// <para>
/// Every click row records the transaction that stored it (<c>tx</c>). One mark, <c>click_rollup_state.rolled_up_tx</c>,
/// says that the clicks of every transaction before it are in the rollups. A fold locks the mark's row (so nodes fold
/// one after another, never the same clicks twice), takes as its horizon the oldest transaction still running
/// (every transaction before it has ended, so no click can appear below it later), adds up the clicks between the
/// mark and the horizon (at most <see cref="MostClicksAFold"/> and the rest of the last transaction) straight from the
/// table, and moves the mark, all in one transaction. A crash loses nothing: the clicks are stored, and the next fold
/// on any node takes them up.
/// </para>
/// <para>
/// A node folds once per <see cref="ClickOptions.RollupIntervalMilliseconds"/> while its own clicks wait, at once
/// when asked (<see cref="RequestFlush"/>), and every <see cref="LookEvery"/> otherwise, for clicks another node
/// stored and did not fold before it stopped. While answered clicks wait for the writer (a batch's worth in the
/// queue), a fold waits for it, up to <see cref="MaxDeferral"/>: the database's time goes to storing clicks first.
/// </para>
/// </remarks>
public sealed class RangeRollups(
    Database database, ClickStore store, ClickQueue queue, IOptions<ClickOptions> options, TimeProvider timeProvider, ILogger<RangeRollups> logger)
{
    /// <summary>Most clicks one fold adds up (it may take the rest of the last transaction's batch as well).</summary>
    public const int MostClicksAFold = 20_000;

    /// <summary>How often a node with none of its own clicks waiting folds anyway.</summary>
    public static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(10);

    /// <summary>Shortest time between two folds, however often one is asked for (a held-back horizon is not polled hot).</summary>
    private static readonly TimeSpan MinGap = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest a fold waits for the click writer to catch up before it goes ahead anyway.</summary>
    private static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(2);

    /// <summary>How long a stopping node keeps trying to fold its own clicks before it leaves them to the next fold.</summary>
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(5);

    /// <summary>The breakdowns a workspace keeps per bucket, with the column each counts by.</summary>
    private static readonly (string Dimension, string Key)[] Breakdowns =
        [("total", "''"), ("country", "c.country"), ("device", "c.device"), ("browser", "c.browser"), ("os", "c.os"), ("referrer", "c.referrer")];

    /// <summary>
    /// Each click's cells: its workspace's hourly and daily total, breakdowns and per-link count, and, when its link
    /// keeps cells of its own (listed in <c>link_rollups</c>), its link's hourly and daily totals, daily breakdowns and
    /// destination. The same cells as <see cref="ClickFolder.Sum"/> (a test holds the two to each other), in the primary
    /// key's order, so that new cells are added to the index page after page rather than all over it.
    /// </summary>
    internal static readonly string FoldSql =
        $$"""
        WITH folded AS (
            SELECT {{ClickStore.CellColumns}} FROM clicks AS c WHERE c.tx >= @from::text::xid8 AND c.tx < @to::text::xid8
        ), own AS (
            SELECT d.link_id FROM (SELECT DISTINCT link_id FROM folded) AS d
            WHERE (SELECT r.link_id FROM link_rollups AS r WHERE r.link_id = d.link_id) IS NOT NULL
            OFFSET 0
        ), c AS (
            SELECT folded.*, own.link_id AS own FROM folded LEFT JOIN own ON own.link_id = folded.link_id
        )
        INSERT INTO click_rollups (scope_id, granularity, bucket, dimension, key, clicks)
        SELECT v.scope_id, v.granularity, v.bucket, v.dimension, v.key, COUNT(*)
        FROM c CROSS JOIN LATERAL (VALUES
        {{Cells}}
        ) AS v(scope_id, granularity, bucket, dimension, key)
        WHERE v.scope_id IS NOT NULL
        GROUP BY v.scope_id, v.granularity, v.bucket, v.dimension, v.key
        ORDER BY v.scope_id, v.granularity, v.dimension, v.bucket, v.key
        ON CONFLICT (scope_id, granularity, dimension, bucket, key) DO UPDATE SET clicks = click_rollups.clicks + excluded.clicks
        """;

    /// <summary>
    /// After a fold's cells: the links of its clicks counted past <see cref="ClickOptions.LinkRollupsAbove"/> that keep no
    /// cells of their own yet start to, with their cells counted from every stored click of theirs before the fold's end.
    /// The folds after this one add their later clicks.
    /// </summary>
    /// <remarks>
    /// Here and in <see cref="FoldSql"/> <c>links</c> and <c>link_rollups</c> are read through scalar subqueries, one
    /// primary-key lookup per link clicked, which the planner keeps as they are: as joins it chose to hash the whole of
    /// <c>link_rollups</c> (a million links clicked before: 180 ms a fold) for a few thousand clicks.
    /// </remarks>
    internal static readonly string KeepOwnSql =
        """
        SELECT link_id FROM (
            SELECT d.link_id FROM (SELECT DISTINCT link_id FROM clicks WHERE tx >= @from::text::xid8 AND tx < @to::text::xid8) AS d
            WHERE (SELECT l.clicks FROM links AS l WHERE l.id = d.link_id) > @above
            OFFSET 0
        ) AS busy
        WHERE (SELECT r.link_id FROM link_rollups AS r WHERE r.link_id = busy.link_id) IS NULL
        ORDER BY link_id
        """;

    /// <summary>The <c>VALUES</c> rows of one click's cells: its link's own (none unless it keeps them), then its workspace's.</summary>
    private static string Cells => string.Join(",\n        ", CellRows());

    private static IEnumerable<string> CellRows()
    {
        foreach (var (granularity, bucket, dimension, key) in ClickStore.LinkCells)
        {
            yield return $"(c.own, '{granularity}', c.{bucket}, '{dimension}', {(key == "''" ? key : "c." + key)})";
        }

        foreach (var (granularity, bucket) in new[] { ("h", "c.hour"), ("d", "c.day") })
        {
            foreach (var (dimension, key) in Breakdowns)
            {
                yield return $"(c.workspace_id, '{granularity}', {bucket}, '{dimension}', {key})";
            }

            yield return $"(c.workspace_id, '{granularity}', {bucket}, 'link', c.link_id)";
        }
    }

    private readonly TimeSpan _interval = TimeSpan.FromMilliseconds(Math.Max(0, options.Value.RollupIntervalMilliseconds));
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lock = new();

    // This node's committed batches whose clicks the mark has not yet passed, oldest transaction first.
    private readonly Queue<(ulong Tx, int Clicks, long StoredAt)> _waiting = new();
    private long _waitingClicks;
    private long _dueAt;
    private long _lastFoldAt;
    private bool _completed;
    private volatile bool _flushRequested;
    private long _rolledUp;

    /// <summary>Raised when some of this node's clicks reached the rollups.</summary>
    public event Action? Progressed;

    /// <summary>Clicks this node stored since start that are in the rollups.</summary>
    public long RolledUp => Volatile.Read(ref _rolledUp);

    /// <summary>Clicks this node stored that are not yet in the rollups.</summary>
    public long Waiting => Volatile.Read(ref _waitingClicks);

    /// <summary>How long the oldest of them has waited: 0 while none waits.</summary>
    public TimeSpan Lag
    {
        get
        {
            lock (_lock)
            {
                return _waiting.TryPeek(out var oldest) ? Stopwatch.GetElapsedTime(oldest.StoredAt) : TimeSpan.Zero;
            }
        }
    }

    /// <summary>The writer committed <paramref name="clicks"/> clicks in transaction <paramref name="tx"/>.</summary>
    public void Stored(ulong tx, int clicks)
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            if (_waiting.Count == 0)
            {
                _dueAt = now + Ticks(_interval);
            }

            _waiting.Enqueue((tx, clicks, now));
            _waitingClicks += clicks;
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for a fold now rather than at the end of the interval.</summary>
    public void RequestFlush()
    {
        _flushRequested = true;
        _wake.Writer.TryWrite(true);
    }

    /// <summary>No more clicks will be stored by this node: fold what is left of its own, then stop.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>The fold loop, until <see cref="Complete"/> and this node's clicks are folded, or <paramref name="abandon"/>.</summary>
    public async Task RunAsync(CancellationToken abandon)
    {
        var retry = StorageRetry.Forever(timeProvider, static _ => true);
        long? stoppingSince = null;
        while (!abandon.IsCancellationRequested)
        {
            await WaitForTurnAsync(abandon);
            if (abandon.IsCancellationRequested)
            {
                return;
            }

            await GiveWayToTheWriterAsync(abandon);
            _flushRequested = false;
            try
            {
                Passed(await retry.ExecuteAsync(async token =>
                {
                    try
                    {
                        return await FoldOnceAsync(token);
                    }
                    catch (Exception exception) when (!token.IsCancellationRequested)
                    {
                        Log.FoldFailed(logger, exception, Waiting);
                        throw;
                    }
                }, abandon));
            }
            catch (Exception) when (abandon.IsCancellationRequested)
            {
                return; // abandoned: the clicks are stored, and the next fold on any node adds them up
            }

            if (IsStopping())
            {
                if (Waiting == 0)
                {
                    return;
                }

                stoppingSince ??= Stopwatch.GetTimestamp();
                if (Stopwatch.GetElapsedTime(stoppingSince.Value) > StopPatience)
                {
                    Log.RollupsLeftToNextFold(logger, Waiting);
                    return;
                }

                // An older transaction still runs somewhere: its end lets the horizon pass this node's last batch.
                await Task.Delay(50, abandon).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// One fold: clicks from the mark up to the horizon (or the first <see cref="MostClicksAFold"/> of them) added to
    /// the rollups and the mark moved past them, in one transaction. Returns the mark it leaves.
    /// </summary>
    internal Task<ulong> FoldOnceAsync(CancellationToken cancellationToken) =>
        database.WriteRedoableAsync(async (connection, transaction) =>
        {
            // The row lock makes nodes fold one at a time; a node that waited for it reads the mark the other left.
            var (markText, horizonText) = await connection.QuerySingleAsync<(string, string)>(new CommandDefinition(
                "SELECT rolled_up_tx::text, pg_snapshot_xmin(pg_current_snapshot())::text FROM click_rollup_state WHERE id = 1 FOR UPDATE",
                transaction: transaction, cancellationToken: cancellationToken));
            var (mark, horizon) = (ParseTx(markText), ParseTx(horizonText));
            if (horizon <= mark)
            {
                return mark;
            }

            var cut = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                "SELECT tx::text FROM clicks WHERE tx >= @from::text::xid8 AND tx < @to::text::xid8 ORDER BY tx OFFSET @most LIMIT 1",
                new { from = Text(mark), to = Text(horizon), most = MostClicksAFold }, transaction, cancellationToken: cancellationToken));
            var to = cut is null ? horizon : Math.Max(ParseTx(cut), mark + 1);
            await connection.ExecuteAsync(new CommandDefinition(FoldSql, new { from = Text(mark), to = Text(to) }, transaction,
                cancellationToken: cancellationToken));
            var toKeep = await connection.QueryAsync<string>(new CommandDefinition(KeepOwnSql,
                new { from = Text(mark), to = Text(to), above = (long)options.Value.LinkRollupsAbove }, transaction, cancellationToken: cancellationToken));
            await store.KeepOwnRollupsAsync(connection, transaction, toKeep, (long)to, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE click_rollup_state SET rolled_up_tx = @to::text::xid8 WHERE id = 1", new { to = Text(to) }, transaction,
                cancellationToken: cancellationToken));
            return to;
        }, cancellationToken);

    /// <summary>The mark is at <paramref name="mark"/>: this node's batches of earlier transactions are in the rollups.</summary>
    private void Passed(ulong mark)
    {
        var passed = 0L;
        lock (_lock)
        {
            while (_waiting.TryPeek(out var batch) && batch.Tx < mark)
            {
                _waiting.Dequeue();
                passed += batch.Clicks;
            }

            _waitingClicks -= passed;
            _lastFoldAt = Stopwatch.GetTimestamp();
            if (_waiting.Count > 0)
            {
                // Newer batches, or a horizon held back by an older transaction: look again an interval later.
                _dueAt = _lastFoldAt + Ticks(_interval);
            }
        }

        if (passed > 0)
        {
            Interlocked.Add(ref _rolledUp, passed);
            Progressed?.Invoke();
        }
    }

    /// <summary>
    /// Returns when a fold is due: when asked for or stopping (at most every <see cref="MinGap"/>), one interval after
    /// a batch of this node's came to wait or after a fold that left some waiting, or <see cref="LookEvery"/> after the
    /// last fold.
    /// </summary>
    private async Task WaitForTurnAsync(CancellationToken abandon)
    {
        var lastFold = Stopwatch.GetTimestamp(); // the caller folds right after this returns
        while (!abandon.IsCancellationRequested)
        {
            TimeSpan wait;
            lock (_lock)
            {
                var now = Stopwatch.GetTimestamp();
                wait = _flushRequested || _completed ? MinGap - Stopwatch.GetElapsedTime(_lastFoldAt, now)
                    : _waiting.Count > 0 ? Stopwatch.GetElapsedTime(now, _dueAt)
                    : LookEvery - Stopwatch.GetElapsedTime(lastFold, now);
            }

            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(abandon);
            timeout.CancelAfter(wait);
            try
            {
                await _wake.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // time to look again
            }
        }
    }

    private async Task GiveWayToTheWriterAsync(CancellationToken abandon)
    {
        var since = Stopwatch.GetTimestamp();
        while (queue.Depth >= options.Value.MaxBatch && !_flushRequested && !IsStopping() && Stopwatch.GetElapsedTime(since) < MaxDeferral)
        {
            await Task.Delay(10, abandon).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private bool IsStopping()
    {
        lock (_lock)
        {
            return _completed;
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private static ulong ParseTx(string text) => ulong.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);

    private static string Text(ulong tx) => tx.ToString(CultureInfo.InvariantCulture);
}
