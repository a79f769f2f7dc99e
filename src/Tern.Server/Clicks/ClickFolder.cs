using System.Data.Common;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Polly;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>
/// Folds stored clicks into what is derived from them: their links' click counts, first sightings of visitors, the
/// stats rollups, a <c>link.clicked</c> event for every click and <c>link.expired</c> for links taken to their click
/// limit (<see cref="FoldAsync"/>).
/// </summary>
/// <remarks>
/// <para>
/// On PostgreSQL the <see cref="ClickWriter"/> folds each batch into counts and events in the transaction that stores
/// it, so that any number of nodes can write, and <see cref="RangeRollups"/> adds the stored clicks to the rollups
/// behind it in set-based statements. On SQLite, where one writer serves everything, the writer's transaction only
/// appends the batch to a journal without indexes (<c>click_journal</c>), and this folder folds the journal behind it
/// in transactions of its own (<see cref="RunAsync"/>), as many clicks at a time as have gathered meanwhile, up to
/// <see cref="ClickOptions.MaxFold"/>, copying them into the indexed <c>clicks</c> table that listings read as it folds
/// them. Redirects then wait for the append alone; a burst lengthens the fold's backlog (<see cref="Backlog"/>), not
/// the redirects' queue.
/// </para>
/// <para>
/// Two marks in storage say how far it got (<see cref="ClickFoldMarks"/>): every click up to <c>folded_through</c>
/// is in the counts and events, every click up to <c>rolled_up_through</c> in the rollups. The rollup sums of
/// several folds are gathered in memory for up to <see cref="ClickOptions.RollupIntervalMilliseconds"/>, so a busy
/// link's cells are written once per interval. A mark moves in the transaction that writes what it covers, so after
/// a crash the folder takes up exactly the clicks after each mark again; nothing is folded twice or lost.
/// </para>
/// <para>
/// The writer hands each committed batch over in memory as well, up to <see cref="MaxHandedBatches"/> waiting; the
/// folder reads the journal back for what it does not hold (after a restart, or while the fold trails further).
/// </para>
/// </remarks>
public sealed class ClickFolder(
    ClickQueue queue,
    ClickStore store,
    LinkStore links,
    LinkEvents outbox,
    ClickedEvents clickedEvents,
    RangeRollups rangeRollups,
    Database database,
    IOptions<ClickOptions> options,
    TimeProvider timeProvider,
    ILogger<ClickFolder> logger)
{
    /// <summary>
    /// Most rollup cells held in memory before they are written, whatever the interval: it bounds the transaction
    /// that writes them (about 50 ms on SQLite), during which the writer waits.
    /// </summary>
    private const int MaxPendingCells = 10_000;

    /// <summary>
    /// Most batches held in memory for the fold. While the fold trails by seconds (a burst, or a load it does not keep up
    /// with), clicks held for it outlive the garbage collector's young generations, and collecting them from the old
    /// one paused every redirect for 30–120 ms; read back from the journal, each lives for one fold instead. Tests set
    /// it to 0 to fold every click from the journal.
    /// </summary>
    internal int MaxHandedBatches { get; set; } = 2;

    /// <summary>Longest the fold gives way to the writer while answered clicks wait to be stored.</summary>
    private static readonly TimeSpan MaxDeferral = TimeSpan.FromSeconds(1);

    /// <summary>Most clicks folded in the one transaction a second the fold takes while the writer is behind.</summary>
    private const int BehindFold = 1_000;

    private readonly ClickOptions _options = options.Value;
    private readonly WriteBudget _budget = new(database);
    private readonly TimeSpan _rollupInterval = TimeSpan.FromMilliseconds(options.Value.RollupIntervalMilliseconds);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // Batches the writer committed and handed over, oldest first; only this folder's loop takes them out.
    private readonly Lock _handedLock = new();
    private readonly Queue<HandedBatch> _handed = new();
    private int _handedClicks;
    private bool _completed;

    // Of the batches not held (past MaxHandedBatches), those with links that have a click limit: their ids, no clicks.
    private readonly Queue<HandedBatch> _unheldLimits = new();

    // The marks as this folder knows them, and the last rowid the writer committed.
    private long _foldedThrough;
    private long _rolledUpThrough;
    private long _journaledThrough;
    private long _sessionStart;

    // Rollup sums of folded clicks not yet written, the clicks of this run they hold and since when they wait.
    private readonly Dictionary<RollupKey, long> _pending = [];

    // A fold's own sums, kept from fold to fold: for a chunk of MaxFold clicks its entries are a large object, and a new
    // one per fold would start a full collection every few seconds under load.
    private readonly Dictionary<RollupKey, long> _sums = [];
    private long _pendingThrough;
    private long _pendingSessionClicks;
    private long _pendingSince;
    private volatile bool _flushRequested;

    // Links folded past LinkRollupsAbove clicks that keep no cells of their own yet: they start to with the next rollups.
    private readonly HashSet<string> _toKeep = new(StringComparer.Ordinal);

    private long _folded;
    private long _rolledUp;
    private long _foldedAt = Stopwatch.GetTimestamp();

    /// <summary>Raised after every fold that wrote something, and after rollups are written.</summary>
    public event Action? Progressed;

    /// <summary>Whether the clicks are folded after they are stored (SQLite) rather than with them.</summary>
    public bool Deferred => store.MarksRollups;

    /// <summary>Clicks of this run folded into counts and events.</summary>
    public long Folded => Volatile.Read(ref _folded);

    /// <summary>Clicks of this run whose rollup sums are written too.</summary>
    public long RolledUp => Deferred ? Volatile.Read(ref _rolledUp) : rangeRollups.RolledUp;

    /// <summary>
    /// Clicks stored but not yet folded: on SQLite into counts and events, on PostgreSQL (where those go with the batch)
    /// this node's clicks not yet in the rollups.
    /// </summary>
    public long Backlog => Deferred ? Math.Max(0, Volatile.Read(ref _journaledThrough) - Volatile.Read(ref _foldedThrough)) : rangeRollups.Waiting;

    /// <summary>How long the oldest unfolded click has waited for the fold: 0 while none waits.</summary>
    public TimeSpan Lag => !Deferred ? rangeRollups.Lag : Backlog == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(Volatile.Read(ref _foldedAt));

    /// <summary>
    /// Reads the marks before the writer stores anything, and returns the rowid its first click takes: one past
    /// every rowid stored or marked, so rowids never come back even after retention deleted every click.
    /// </summary>
    public async Task<long> InitializeAsync(CancellationToken cancellationToken)
    {
        var marks = await store.FoldMarksAsync(cancellationToken);
        _rolledUpThrough = marks.RolledUpThrough;
        _foldedThrough = marks.FoldedThrough;
        _journaledThrough = _sessionStart = Math.Max(marks.LastRowId, marks.FoldedThrough);
        return _sessionStart + 1;
    }

    /// <summary>The writer committed these clicks with rowids up to <paramref name="through"/>: fold them.</summary>
    public void Journaled(List<Click> clicks, HashSet<string> withClickLimits, long through)
    {
        lock (_handedLock)
        {
            // Past MaxHandedBatches the journal holds them alone, and the folder reads them back from it; which of their
            // links have a click limit is kept, as the journal does not say.
            if (_handedClicks + clicks.Count <= MaxHandedBatches * _options.MaxBatch)
            {
                _handed.Enqueue(new HandedBatch(clicks, withClickLimits, through - clicks.Count + 1, through));
                _handedClicks += clicks.Count;
            }
            else if (withClickLimits.Count > 0)
            {
                _unheldLimits.Enqueue(new HandedBatch([], withClickLimits, through - clicks.Count + 1, through));
            }

            Volatile.Write(ref _journaledThrough, through);
        }

        _wake.Writer.TryWrite(true);
    }

    /// <summary>
    /// PostgreSQL: the writer folded <paramref name="count"/> clicks into counts and events with their batch, in
    /// transaction <paramref name="tx"/>; their rollups follow (<see cref="RangeRollups"/>).
    /// </summary>
    public void FoldedWithBatch(int count, ulong tx)
    {
        Interlocked.Add(ref _folded, count);
        rangeRollups.Stored(tx, count);
        Progressed?.Invoke();
    }

    /// <summary>No more clicks will be journaled: fold what is left, write the sums and stop.</summary>
    public void Complete()
    {
        lock (_handedLock)
        {
            _completed = true;
        }

        rangeRollups.Complete();
        _wake.Writer.TryWrite(true);
    }

    /// <summary>Asks for the gathered rollup sums to be written at once rather than at the end of their interval.</summary>
    public void RequestFlush()
    {
        _flushRequested = true;
        rangeRollups.RequestFlush();
        _wake.Writer.TryWrite(true);
    }

    /// <summary>PostgreSQL: the rollups' fold loop (<see cref="RangeRollups.RunAsync"/>), which raises <see cref="Progressed"/>.</summary>
    public Task RunRangeRollupsAsync(CancellationToken abandon)
    {
        rangeRollups.Progressed += () => Progressed?.Invoke();
        return rangeRollups.RunAsync(abandon);
    }

    /// <summary>
    /// The fold loop (SQLite): takes up the clicks after the marks left by the last run, then folds what the writer
    /// journals until <see cref="Complete"/>, every write retried until it succeeds or <paramref name="abandon"/> fires.
    /// </summary>
    public async Task RunAsync(CancellationToken abandon)
    {
        var retry = StorageRetry.Forever(timeProvider, static _ => true);
        await RetryAsync(retry, () => RollUpFoldedLeftoversAsync(abandon), abandon);
        var lastFold = Stopwatch.GetTimestamp();
        while (!abandon.IsCancellationRequested)
        {
            var writerBehind = await GiveWayToTheWriterAsync(lastFold, abandon);
            lastFold = Stopwatch.GetTimestamp();
            var chunk = await TakeAsync(ChunkLimit(writerBehind), abandon);
            if (chunk is not null)
            {
                await RetryAsync(retry, () => FoldChunkAsync(chunk, abandon), abandon);
                continue;
            }

            // Links still waiting to keep cells of their own (MaxKeptPerWrite at a time) go with the next rollup write, or
            // with one asked for.
            if ((_pending.Count > 0 || _toKeep.Count > 0) && (_flushRequested || RollupsDue() || IsCompleted()))
            {
                await RetryAsync(retry, () => FlushRollupsAsync(abandon), abandon);
                continue;
            }

            if (IsCompleted())
            {
                return;
            }

            await WaitAsync(abandon);
        }
    }

    /// <summary>
    /// How many clicks the next fold transaction may take: <see cref="ClickOptions.MaxFold"/>, fewer while the writer
    /// is behind, and while the API writes only as many as fold within <see cref="WriteBudget.Budget"/>, so that an API
    /// write waits little behind the fold.
    /// </summary>
    private int ChunkLimit(bool writerBehind) => _budget.Size(writerBehind ? Math.Min(_options.MaxFold, BehindFold) : _options.MaxFold);

    /// <summary>
    /// Folds clicks in the caller's transaction: counts, first sightings, events. Returns whether it appended events
    /// (the caller rings the outbox after commit) and the links counted, with their new counts.
    /// </summary>
    public async Task<FoldResult> FoldAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks,
        IReadOnlyCollection<string> linksWithLimits, CancellationToken cancellationToken)
    {
        var perLink = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var click in clicks)
        {
            perLink[click.LinkId] = perLink.GetValueOrDefault(click.LinkId) + 1;
        }

        var counted = await LinkClickCounts.AddAsync(connection, transaction, perLink, cancellationToken);
        if (_options.UniqueVisitors)
        {
            // First sightings are decided here, against what is stored, so their cells go with the fold.
            var uniques = new Dictionary<RollupKey, long>();
            await ClickStore.AddFirstSightingsAsync(connection, transaction, clicks, uniques, cancellationToken);
            await store.AddToRollupsAsync(connection, transaction, uniques, cancellationToken);
        }

        var appended = await AppendClickEventsAsync(connection, transaction, clicks, counted, cancellationToken);
        if (linksWithLimits.Count > 0)
        {
            var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var expired = await links.MarkExpiredAsync(connection, transaction, now, linksWithLimits, linksWithLimits.Count, cancellationToken);
            await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkExpired, expired, cancellationToken);
            appended |= expired.Count > 0;
        }

        return new FoldResult(appended, counted);
    }

    /// <summary>
    /// Each click adds one to its workspace's cells: hourly and daily, every breakdown, and its link's count among the
    /// workspace's links (what the top links read).
    /// </summary>
    public static void AddWorkspaceCells(Dictionary<RollupKey, long> rollups, Click click)
    {
        var hour = click.TimestampMs / ClickStore.HourMs * ClickStore.HourMs;
        var day = click.TimestampMs / ClickStore.DayMs * ClickStore.DayMs;
        foreach (var (granularity, bucket) in (ReadOnlySpan<(char, long)>)[('h', hour), ('d', day)])
        {
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "total", ""));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "country", click.Country ?? ""));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "device", click.Device));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "browser", click.Browser));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "os", click.Os));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "referrer", click.ReferrerHost ?? ""));
            Add(rollups, new RollupKey(click.WorkspaceId, granularity, bucket, "link", click.LinkId));
        }
    }

    /// <summary>
    /// A click of a link that keeps cells of its own (<see cref="ClickStore.LinkCells"/>) adds one to them: the link's
    /// hourly and daily totals, its daily breakdowns, and the destinations served (which rule or variant won is a
    /// question about one link). Per-link hourly breakdowns are left out on purpose: with clicks spread over many links
    /// they would be most of the fold's work, and a link's breakdowns by day are what its stats page shows.
    /// </summary>
    public static void AddLinkCells(Dictionary<RollupKey, long> rollups, Click click)
    {
        var hour = click.TimestampMs / ClickStore.HourMs * ClickStore.HourMs;
        var day = click.TimestampMs / ClickStore.DayMs * ClickStore.DayMs;
        Add(rollups, new RollupKey(click.LinkId, 'h', hour, "total", ""));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "total", ""));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "country", click.Country ?? ""));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "device", click.Device));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "browser", click.Browser));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "os", click.Os));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "referrer", click.ReferrerHost ?? ""));
        Add(rollups, new RollupKey(click.LinkId, 'd', day, "destination", click.Destination ?? ""));
    }

    private static void Add(Dictionary<RollupKey, long> rollups, RollupKey key) =>
        CollectionsMarshal.GetValueRefOrAddDefault(rollups, key, out _)++;

    /// <summary>
    /// The cells of these clicks: their workspaces' for each, and their links' own for those
    /// <paramref name="linkCells"/> picks (by click and position).
    /// </summary>
    public static Dictionary<RollupKey, long> Sum(IReadOnlyList<Click> clicks, Func<Click, int, bool> linkCells)
    {
        var sums = new Dictionary<RollupKey, long>();
        SumInto(sums, clicks, linkCells);
        return sums;
    }

    /// <summary>Adds the cells of these clicks to <paramref name="sums"/> (see <see cref="Sum"/>).</summary>
    public static void SumInto(Dictionary<RollupKey, long> sums, IReadOnlyList<Click> clicks, Func<Click, int, bool> linkCells)
    {
        for (var i = 0; i < clicks.Count; i++)
        {
            AddWorkspaceCells(sums, clicks[i]);
            if (linkCells(clicks[i], i))
            {
                AddLinkCells(sums, clicks[i]);
            }
        }
    }

    /// <summary>
    /// The cells of journaled clicks, in the caller's transaction: their links' own only for the links that keep them,
    /// and only for clicks after those cells were counted through. Clicks being folded come after the fold mark, and so
    /// after every mark a link's cells were counted through (<paramref name="rowIds"/> null); those read again after a
    /// crash, between the two marks, may not (their rowids given). The links counted past
    /// <see cref="ClickOptions.LinkRollupsAbove"/> that keep none yet are added to <paramref name="toKeep"/>.
    /// </summary>
    private async Task SumAsync(Dictionary<RollupKey, long> sums, DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks,
        IReadOnlyList<long>? rowIds, IReadOnlyList<CountedLink>? counted, HashSet<string>? toKeep, CancellationToken cancellationToken)
    {
        var own = await store.OwnRollupsAsync(connection, transaction, clicks.Select(c => c.LinkId).Distinct(StringComparer.Ordinal), cancellationToken);
        if (counted is not null && toKeep is not null)
        {
            toKeep.UnionWith(counted.Where(c => c.Version.Clicks > _options.LinkRollupsAbove && !own.ContainsKey(c.Version.Id)).Select(c => c.Version.Id));
        }

        SumInto(sums, clicks, (click, i) => own.TryGetValue(click.LinkId, out var countedThrough) && (rowIds is null || rowIds[i] > countedThrough));
    }

    /// <summary>
    /// The next clicks to fold, oldest first: the batches handed over while they follow the mark without a gap,
    /// else the journal read back; null when everything stored is folded.
    /// </summary>
    private async Task<Chunk?> TakeAsync(int maxFold, CancellationToken cancellationToken)
    {
        var clicks = new List<Click>();
        var withLimits = new HashSet<string>(StringComparer.Ordinal);
        var through = _foldedThrough;
        long journaled;
        lock (_handedLock)
        {
            while (_handed.TryPeek(out var batch) && batch.Through <= _foldedThrough)
            {
                _handedClicks -= _handed.Dequeue().Clicks.Count;
            }

            while (_unheldLimits.TryPeek(out var batch) && batch.Through <= _foldedThrough)
            {
                _unheldLimits.Dequeue();
            }

            while (_handed.TryPeek(out var batch) && batch.First == through + 1 &&
                   (clicks.Count == 0 || clicks.Count + batch.Clicks.Count <= maxFold))
            {
                _handed.Dequeue();
                _handedClicks -= batch.Clicks.Count;
                clicks.AddRange(batch.Clicks);
                withLimits.UnionWith(batch.WithClickLimits);
                through = batch.Through;
            }

            journaled = _journaledThrough;
        }

        if (clicks.Count > 0)
        {
            return new Chunk(clicks, withLimits, through, clicks.Count);
        }

        if (journaled <= _foldedThrough)
        {
            return null;
        }

        // Not handed over (a previous run's, or past MaxHandedBatches): read back from the journal. Which links have a
        // click limit is known for this run's batches; of a previous run's clicks every link is looked at.
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await ClickStore.ReadJournalAsync(connection, null, _foldedThrough, journaled, maxFold, cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        var read = new List<Click>(rows.Count);
        foreach (var (rowId, click) in rows)
        {
            read.Add(click);
            if (rowId <= _sessionStart)
            {
                withLimits.Add(click.LinkId);
            }
        }

        lock (_handedLock)
        {
            foreach (var batch in _unheldLimits)
            {
                if (batch.First <= rows[^1].RowId && batch.Through >= rows[0].RowId)
                {
                    withLimits.UnionWith(batch.WithClickLimits);
                }
            }
        }

        return new Chunk(read, withLimits, rows[^1].RowId, rows.Count(r => r.RowId > _sessionStart));
    }

    /// <summary>Folds a chunk and moves the fold mark in one transaction; with its rollups when they are due.</summary>
    private async Task FoldChunkAsync(Chunk chunk, CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            _pendingSince = Stopwatch.GetTimestamp();
        }

        var flush = _rollupInterval <= TimeSpan.Zero || _flushRequested || RollupsDue() || _pending.Count > MaxPendingCells;
        // Links this fold finds past the threshold; they join _toKeep once it commits (copying _toKeep instead, thousands
        // of links while a campaign passes the threshold, made a large object every fold).
        var newcomers = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<string> kept = [];
        var sums = _sums;
        var appended = await database.WriteAsync(async (connection, transaction) =>
        {
            var started = Stopwatch.GetTimestamp();
            var folded = await FoldAsync(connection, transaction, chunk.Clicks, chunk.WithClickLimits, cancellationToken);
            await store.InsertAsync(connection, transaction, chunk.Clicks, cancellationToken);
            sums.Clear();
            newcomers.Clear();
            await SumAsync(sums, connection, transaction, chunk.Clicks, null, folded.Counted, newcomers, cancellationToken);
            await ClickStore.SetFoldedThroughAsync(connection, transaction, chunk.Through, cancellationToken);
            if (flush)
            {
                await store.AddToRollupsAsync(connection, transaction, _pending, cancellationToken);
                await store.AddToRollupsAsync(connection, transaction, sums, cancellationToken);
                // clicks now holds every click through this chunk's: what those links' own cells are counted through.
                kept = FirstToKeep(_toKeep.Concat(newcomers));
                await store.KeepOwnRollupsAsync(connection, transaction, kept, chunk.Through, cancellationToken);
                await ClickStore.SetRolledUpThroughAsync(connection, transaction, chunk.Through, cancellationToken);
            }
            else
            {
                // The pace of plain folds (a flush also writes the gathered cells): what the next chunks are sized by.
                _budget.Held(Stopwatch.GetElapsedTime(started), chunk.Clicks.Count);
            }

            return folded.Appended;
        }, cancellationToken, WritePriority.Background);

        if (appended)
        {
            outbox.Signal();
        }

        Volatile.Write(ref _foldedThrough, chunk.Through);
        Volatile.Write(ref _foldedAt, Stopwatch.GetTimestamp());
        Interlocked.Add(ref _folded, chunk.SessionClicks);
        _pendingSessionClicks += chunk.SessionClicks;
        _pendingThrough = chunk.Through;
        _toKeep.UnionWith(newcomers);
        if (flush)
        {
            RollupsWritten(kept);
        }
        else
        {
            MergePending(sums);
        }

        Progressed?.Invoke();
    }

    /// <summary>Writes the gathered rollup sums and their mark, and the own cells of the links that are to keep them.</summary>
    private async Task FlushRollupsAsync(CancellationToken cancellationToken)
    {
        var through = _pendingThrough;
        var kept = FirstToKeep(_toKeep);
        await database.WriteAsync(async (connection, transaction) =>
        {
            await store.AddToRollupsAsync(connection, transaction, _pending, cancellationToken);
            await store.KeepOwnRollupsAsync(connection, transaction, kept, _foldedThrough, cancellationToken);
            await ClickStore.SetRolledUpThroughAsync(connection, transaction, through, cancellationToken);
            return true;
        }, cancellationToken, WritePriority.Background);
        RollupsWritten(kept);
        Progressed?.Invoke();
    }

    /// <summary>
    /// Most links that start keeping cells of their own in one rollup write. Each is counted from up to
    /// <c>LinkRollupsAbove</c> raw clicks, and the links of a campaign clicked evenly pass the threshold together: counted
    /// all at once, 10,000 such links held SQLite's one writer for seconds and the redirects' queue filled behind it.
    /// The others wait for the next rollup writes, read from their raw clicks meanwhile.
    /// </summary>
    internal const int MaxKeptPerWrite = 200;

    private static List<string> FirstToKeep(IEnumerable<string> toKeep) => [.. toKeep.Distinct(StringComparer.Ordinal).Take(MaxKeptPerWrite)];

    /// <summary>The gathered sums are written, and the links in <paramref name="kept"/> keep cells of their own.</summary>
    private void RollupsWritten(IReadOnlyList<string> kept)
    {
        _flushRequested = false;
        _rolledUpThrough = _pendingThrough;
        Interlocked.Add(ref _rolledUp, _pendingSessionClicks);
        _pendingSessionClicks = 0;
        _pending.Clear();
        _toKeep.ExceptWith(kept);
    }

    /// <summary>
    /// After a crash: the clicks folded into counts and events whose rollup sums were still in memory are added up
    /// again from the journal, a chunk per transaction.
    /// </summary>
    private async Task RollUpFoldedLeftoversAsync(CancellationToken cancellationToken)
    {
        var again = 0;
        while (_rolledUpThrough < _foldedThrough)
        {
            var through = _rolledUpThrough;
            await database.WriteAsync(async (connection, transaction) =>
            {
                var rows = await ClickStore.ReadJournalAsync(connection, transaction, _rolledUpThrough, _foldedThrough, _options.MaxFold, cancellationToken);
                through = rows.Count == 0 ? _foldedThrough : rows[^1].RowId;
                var sums = _sums;
                sums.Clear();
                await SumAsync(sums, connection, transaction, [.. rows.Select(r => r.Click)], [.. rows.Select(r => r.RowId)], null, null, cancellationToken);
                await store.AddToRollupsAsync(connection, transaction, sums, cancellationToken);
                await ClickStore.SetRolledUpThroughAsync(connection, transaction, through, cancellationToken);
                again += rows.Count;
                return true;
            }, cancellationToken, WritePriority.Background);
            _rolledUpThrough = _pendingThrough = through;
        }

        if (again > 0)
        {
            Log.ClicksRolledUpAfterRestart(logger, again);
        }

        if (_journaledThrough > _foldedThrough)
        {
            Log.ClicksToFoldAfterRestart(logger, _journaledThrough - _foldedThrough);
        }
    }

    /// <summary>
    /// While the writer falls behind (a batch's worth of answered clicks waits in the queue), it has the machine and
    /// SQLite's one writer to itself: the fold waits until the queue is shorter, or for at most
    /// <see cref="MaxDeferral"/> since its last transaction, so a burst costs the redirects nothing and the fold still
    /// advances by a small chunk (<see cref="BehindFold"/>) a second. It catches up once the burst is over; a flush asked
    /// for, or the stop, does not wait. True when it stopped waiting with the writer still behind.
    /// </summary>
    private async Task<bool> GiveWayToTheWriterAsync(long lastFold, CancellationToken abandon)
    {
        while (WriterBehind())
        {
            if (Stopwatch.GetElapsedTime(lastFold) >= MaxDeferral)
            {
                return true;
            }

            await Task.Delay(5, abandon).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return false;

        bool WriterBehind() => queue.Depth >= _options.MaxBatch && !_flushRequested && !IsStopping() && !abandon.IsCancellationRequested;
    }

    private bool IsStopping()
    {
        lock (_handedLock)
        {
            return _completed;
        }
    }

    private async Task WaitAsync(CancellationToken abandon)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(abandon);
        if (_pending.Count > 0)
        {
            var due = _rollupInterval - Stopwatch.GetElapsedTime(_pendingSince);
            wait.CancelAfter(due > TimeSpan.Zero ? due : TimeSpan.FromMilliseconds(1));
        }

        try
        {
            await _wake.Reader.ReadAsync(wait.Token);
        }
        catch (OperationCanceledException) when (!abandon.IsCancellationRequested)
        {
            // Rollups due: go round.
        }
        catch (OperationCanceledException)
        {
            // Abandoned: the loop ends.
        }
    }

    private async Task RetryAsync(ResiliencePipeline retry, Func<Task> write, CancellationToken abandon)
    {
        try
        {
            await retry.ExecuteAsync(async _ =>
            {
                try
                {
                    await write();
                }
                catch (Exception exception) when (!abandon.IsCancellationRequested)
                {
                    Log.FoldFailed(logger, exception, Backlog);
                    throw;
                }
            }, abandon);
        }
        catch (Exception) when (abandon.IsCancellationRequested)
        {
            // Abandoned at shutdown: what is not folded is folded at the next start, from the journal.
        }
    }

    private bool IsCompleted()
    {
        lock (_handedLock)
        {
            return _completed && _journaledThrough <= _foldedThrough;
        }
    }

    private bool RollupsDue() => _pending.Count > 0 && Stopwatch.GetElapsedTime(_pendingSince) >= _rollupInterval;

    /// <summary>Adds a chunk's sums to the pending ones.</summary>
    private void MergePending(Dictionary<RollupKey, long> sums)
    {
        foreach (var (key, count) in sums)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(_pending, key, out _) += count;
        }
    }

    /// <summary>
    /// Every click is a link.clicked event in the log, whether or not a webhook subscribes: polling integrations and
    /// event streams read it there. The clicked links' versions come back from the count update; per fold and workspace
    /// this costs full rows only for links not yet written out in their version (<see cref="ClickedEvents"/>), and one
    /// multi-row insert.
    /// </summary>
    private async Task<bool> AppendClickEventsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks,
        IReadOnlyList<CountedLink> counted, CancellationToken cancellationToken)
    {
        var appended = false;
        var countedByWorkspace = counted.ToLookup(c => c.WorkspaceId, StringComparer.Ordinal);
        foreach (var workspace in clicks.GroupBy(c => c.WorkspaceId))
        {
            var versions = countedByWorkspace[workspace.Key].ToDictionary(c => c.Version.Id, c => c.Version, StringComparer.Ordinal);
            appended |= await clickedEvents.AppendAsync(connection, transaction, workspace.Key, [.. workspace], versions, cancellationToken) > 0;
        }

        return appended;
    }

    /// <summary>What a fold did in its transaction: whether it appended events, and the links it counted.</summary>
    public sealed record FoldResult(bool Appended, IReadOnlyList<CountedLink> Counted);

    /// <summary>A batch the writer committed, with the rowids it took.</summary>
    private sealed record HandedBatch(List<Click> Clicks, HashSet<string> WithClickLimits, long First, long Through);

    /// <summary>Clicks to fold, through which rowid, and how many of them this run journaled.</summary>
    private sealed record Chunk(List<Click> Clicks, HashSet<string> WithClickLimits, long Through, long SessionClicks);
}
