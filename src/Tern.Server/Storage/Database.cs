using System.Data.Common;
using Dapper;

namespace Tern.Server.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Who waits for a write: a caller (an API request) or nobody but a worker.</summary>
public enum WritePriority
{
    /// <summary>Someone waits for it; it goes before background writes waiting at the same moment.</summary>
    Foreground,

    /// <summary>
    /// The click journal's appends (SQLite), which redirects wait on once the click queue is full: after waiting
    /// foreground writes, before waiting background ones.
    /// </summary>
    Clicks,

    /// <summary>Worker batches (the click fold, webhook claims and attempts, purges): they go after waiting foreground writes.</summary>
    Background,
}

/// <summary>
/// How one kind of write used a provider's single writer since start: turns taken, time spent waiting for them, and
/// time holding the writer (its transaction, commit included).
/// </summary>
public readonly record struct WriterUse(WritePriority Priority, long Turns, double WaitedSeconds, double HeldSeconds);

/// <summary>
/// The one door to storage. Domain code writes portable SQL (both providers accept <c>@name</c> parameters,
/// <c>ON CONFLICT</c> and <c>RETURNING</c>, and timestamps are stored as Unix milliseconds) and asks the
/// <see cref="SqlDialect"/> for the few spots where the engines differ.
/// </summary>
public abstract class Database
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(1.5);

    static Database()
    {
        // Columns are snake_case and row types PascalCase. Every query runs on a Database, so setting Dapper's
        // process-wide switch here holds for whoever builds one, not only for hosts that call AddTernStorage.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public abstract StorageProvider Provider { get; }

    public abstract SqlDialect Dialect { get; }

    /// <summary>Opens a pooled connection for reading (or for a write that needs no transaction ordering).</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction and commits it. On SQLite writers are queued
    /// in-process, because the engine admits one writer at a time and its busy-wait is slower than a queue; a
    /// <see cref="WritePriority.Background"/> write lets the writes someone waits for go first.
    /// </summary>
    public abstract Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground);

    /// <summary>
    /// Runs <paramref name="work"/> as <see cref="WriteAsync{T}"/> does, for a write that is done again if it is lost:
    /// a claim of deliveries (they come due again), a record of attempts (the deliveries are sent again, which
    /// at-least-once delivery allows), a fold of clicks into rollups (the clicks are folded again). PostgreSQL commits
    /// it without waiting for its WAL to reach the disk (<c>synchronous_commit = off</c>), so it never queues at the
    /// disk ahead of the commits someone waits for. Only a crash of the database server itself can lose it, and then
    /// only if no waited-for commit followed it (that commit's flush carries every earlier one); a crash of Tern loses
    /// nothing. SQLite runs it as <see cref="WriteAsync{T}"/>.
    /// </summary>
    public virtual Task<T> WriteRedoableAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Background) =>
        WriteAsync(work, cancellationToken, priority);

    /// <summary>
    /// Runs <paramref name="work"/>, a write made of one statement, atomically. PostgreSQL runs the statement as a
    /// transaction of its own (no transaction is passed), so the write travels to the server once instead of twice
    /// (statement, then <c>COMMIT</c>). SQLite, in-process, has no round trip to save and runs it as
    /// <see cref="WriteAsync{T}"/> does, at the writer in a transaction it passes.
    /// </summary>
    public virtual Task<T> WriteStatementAsync<T>(
        Func<DbConnection, DbTransaction?, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground) =>
        WriteAsync<T>((connection, transaction) => work(connection, transaction), cancellationToken, priority);

    /// <summary>
    /// Where all writes take turns at one writer (SQLite), how each kind used it; empty where writers run side by side
    /// (PostgreSQL). Read by metrics: a foreground wait that grows says background work holds the writer too long.
    /// </summary>
    public virtual IReadOnlyList<WriterUse> WriterUses() => [];

    /// <summary>
    /// Whether a foreground write (an API call) began within <paramref name="span"/>: so that background work keeps its
    /// transactions at SQLite's one writer short (<see cref="WriteBudget"/>), and the webhook dispatcher paces a
    /// backlog's drain (<c>DrainPace</c>) on both providers.
    /// </summary>
    public bool ForegroundWroteWithin(TimeSpan span) =>
        Volatile.Read(ref _foregroundAt) is var at and not 0 && System.Diagnostics.Stopwatch.GetElapsedTime(at) < span;

    private long _foregroundAt;
    private long _foregroundWrites;
    private long _slowForegroundWrites;

    /// <summary>
    /// A foreground write that took longer than this from asking for storage to its commit (or failure) counts as slow:
    /// its API call then likely answered in more than about 5 ms.
    /// </summary>
    public static readonly TimeSpan SlowForegroundWrite = TimeSpan.FromMilliseconds(4);

    /// <summary>
    /// Foreground writes finished since the last call, and how many of them were slow (<see cref="SlowForegroundWrite"/>):
    /// more than half slow means the API's median write is. The webhook dispatcher reads it once a second to slow a
    /// backlog's drain (<c>DrainPace</c>); it is the only reader.
    /// </summary>
    public (long Writes, long Slow) TakeForegroundWrites() =>
        (Interlocked.Exchange(ref _foregroundWrites, 0), Interlocked.Exchange(ref _slowForegroundWrites, 0));

    /// <summary>A provider's write of <paramref name="priority"/>, from asking for storage to its end, told to <see cref="Asked"/> and <see cref="Finished"/>.</summary>
    protected async Task<T> TrackedAsync<T>(WritePriority priority, Func<Task<T>> write)
    {
        var asked = System.Diagnostics.Stopwatch.GetTimestamp();
        Asked(priority, asked);
        try
        {
            return await write();
        }
        finally
        {
            Finished(priority, asked);
        }
    }

    /// <summary>Called by a provider as a write asks for storage: a foreground one is remembered for <see cref="ForegroundWroteWithin"/>.</summary>
    protected void Asked(WritePriority priority, long at)
    {
        if (priority == WritePriority.Foreground)
        {
            Volatile.Write(ref _foregroundAt, at);
        }
    }

    /// <summary>Called by a provider when a write that asked at <paramref name="askedAt"/> has committed or failed.</summary>
    protected void Finished(WritePriority priority, long askedAt)
    {
        if (priority == WritePriority.Foreground)
        {
            Interlocked.Increment(ref _foregroundWrites);
            if (System.Diagnostics.Stopwatch.GetElapsedTime(askedAt) > SlowForegroundWrite)
            {
                Interlocked.Increment(ref _slowForegroundWrites);
            }
        }
    }

    /// <summary>
    /// Runs a periodic job once across every node that shares this storage. Returns the instant this run claimed
    /// (Unix ms, on the database's clock), or null when another node holds the job or has already run it within
    /// this <paramref name="period"/>. A single-node provider runs it directly.
    /// </summary>
    public virtual async Task<long?> TryRunExclusiveAsync(
        string job, TimeSpan period, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var claimedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await work(cancellationToken);
        return claimedAt;
    }

    /// <summary>
    /// True when this process is storage's only writer (SQLite: one node, writes queued in-process): work may then be
    /// gathered in memory across transactions, and rows need no fixed lock order. False when any number of nodes
    /// write at once (PostgreSQL), so that rows are locked in a fixed order to keep concurrent writers from deadlocking.
    /// </summary>
    public virtual bool SingleWriter => true;

    /// <summary>
    /// Inserts many rows in the caller's transaction by the fastest way the engine has: on SQLite one prepared
    /// single-row statement (in-process, binding a few parameters per call beats wide statements); PostgreSQL
    /// overrides it with a binary <c>COPY</c>.
    /// </summary>
    public virtual Task InsertManyAsync<T>(
        DbConnection connection, DbTransaction transaction, string table, ColumnMap<T> columns, IReadOnlyList<T> rows,
        CancellationToken cancellationToken) =>
        MultiRowStatement.ExecuteAsync(connection, transaction, $"INSERT INTO {table} ({columns.List}) VALUES ", "", columns.Count, 1,
            rows, columns.Bind, cancellationToken);

    /// <summary>
    /// Makes ready ahead of time what raw clicks will need in the coming months (PostgreSQL: the monthly partitions of
    /// <c>clicks</c>, so they never land in DEFAULT); nothing on SQLite. Run by the maintenance job.
    /// </summary>
    public virtual Task PrepareClickStorageAheadAsync(DateTimeOffset now, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Drops raw clicks older than the cutoff in whole months where storage keeps them by month (PostgreSQL's
    /// partitions), and returns how many clicks went; 0 on SQLite. The rest is left to a row-wise delete.
    /// </summary>
    public virtual Task<int> DropClickMonthsOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <summary>True when other nodes' changes can be heard (<c>ListenAsync</c>); false with one node.</summary>
    public virtual bool HasNotifications => false;

    /// <summary>
    /// Listens on a notification channel on a connection of its own: calls <paramref name="onListening"/> once
    /// listening is in place, then <paramref name="onNotification"/> with each payload, until cancelled or the connection
    /// is lost (which throws). Only where <see cref="HasNotifications"/>.
    /// </summary>
    public Task ListenAsync(string channel, Action onListening, Action<string> onNotification, CancellationToken cancellationToken) =>
        ListenAsync([channel], onListening, (_, payload) => onNotification(payload), cancellationToken);

    /// <summary>
    /// Listens on several channels over one connection, as <see cref="ListenAsync(string, Action, Action{string}, CancellationToken)"/>
    /// does on one; <paramref name="onNotification"/> hears the channel and the payload.
    /// </summary>
    public virtual Task ListenAsync(
        IReadOnlyList<string> channels, Action onListening, Action<string, string> onNotification, CancellationToken cancellationToken) =>
        throw new NotSupportedException("This storage has one node and announces no changes.");

    /// <summary>Where <see cref="BackupToAsync"/> works: the embedded engine, whose whole database is one file.</summary>
    public virtual bool CanBackUp => false;

    /// <summary>
    /// Writes a consistent copy of the whole database to <paramref name="path"/> while it keeps serving; only where
    /// <see cref="CanBackUp"/> (PostgreSQL has its own tools: pg_dump, base backups).
    /// </summary>
    public virtual Task BackupToAsync(string path, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Back up PostgreSQL with its own tools (pg_dump, pg_basebackup).");

    /// <summary>
    /// True when storage answers a trivial query within <see cref="PingTimeout"/>. The wait ends then whatever the
    /// driver does: cancelling a statement on a frozen server can itself take a while, and a probe must answer in time.
    /// </summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        var ping = PingOnceAsync(timeout.Token);
        try
        {
            return await ping.WaitAsync(PingTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            _ = ping.ContinueWith(_ => timeout.Dispose(), TaskScheduler.Default);
            return false;
        }
        finally
        {
            if (ping.IsCompleted)
            {
                timeout.Dispose();
            }
        }
    }

    private async Task<bool> PingOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (DbException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>What differs between the SQL engines, kept to a handful of members.</summary>
public abstract class SqlDialect
{
    /// <summary>The case-insensitive LIKE operator.</summary>
    public abstract string CaseInsensitiveLike { get; }

    /// <summary>
    /// "<paramref name="column"/> is one of the list parameter", whose value is <see cref="List"/> of the items: one
    /// parameter however long the list, never one per item.
    /// </summary>
    public abstract string InList(string column, string parameter);

    /// <summary>
    /// The value of an <see cref="InList"/> parameter: on PostgreSQL the array itself (<c>= ANY(@list)</c>); on SQLite a
    /// JSON array read with <c>json_each</c>, because Microsoft.Data.Sqlite finds each named parameter by a linear
    /// search, so a list expanded into one parameter per item costs time in the square of its length (4,000 link ids
    /// took about 250 ms).
    /// </summary>
    public abstract object List(IEnumerable<string> items);

    /// <summary>
    /// Most ids a list that the click fold passes on its own should hold, since a fold may name up to
    /// <c>MaxFold</c> links: as JSON on SQLite about 35 KB, well below the 85,000 bytes of a large object. Large objects
    /// are collected only with everything else, so allocating them fold after fold starts full collections, and every
    /// redirect waits for those.
    /// </summary>
    public const int ListPart = 1_000;

    /// <summary>The clause that makes a claiming SELECT skip rows other transactions hold (PostgreSQL), or nothing.</summary>
    public abstract string SkipLocked(string alias);

    /// <summary>
    /// The clause that makes a SELECT lock the rows it returns as an update of their other columns would (PostgreSQL), or
    /// nothing where the one writer excludes every other.
    /// </summary>
    public abstract string LockedForUpdate { get; }

    /// <summary>
    /// The clause that makes a SELECT lock the rows it returns against their deletion only, as a foreign key's check
    /// does (PostgreSQL), or nothing. A row a deletion is removing is waited for and then not returned.
    /// </summary>
    public abstract string LockedAgainstDeletion { get; }

    /// <summary>
    /// The column that, with <c>id</c>, orders the rows of <c>events</c> and <c>clicks</c> as they committed: the rowid
    /// on SQLite (one writer, each new row takes the largest rowid plus one), the writing transaction on PostgreSQL.
    /// </summary>
    public abstract string CommitSequence { get; }

    /// <summary>
    /// The condition that keeps only rows whose place in commit order is final: no row can later commit before them.
    /// Always true on SQLite; on PostgreSQL, rows written by transactions older than every one still running.
    /// </summary>
    public abstract string Settled { get; }

    /// <summary>
    /// The conditions and order of a page of <paramref name="table"/>'s settled rows committed strictly after the row
    /// with id <c>@after</c> in the workspace <c>@workspaceId</c>, oldest first (the caller appends <c>LIMIT</c>). An
    /// id not stored (purged, or never issued: a time) stands for the place just before the earliest committed of the
    /// rows whose ids sort after it, and the page keeps only those rows: a row with a larger id that committed before
    /// the first one by id is not skipped. (COALESCE evaluates its second query only when the first finds nothing.)
    /// </summary>
    public string CommittedAfter(string table) =>
        $"""
        AND {Settled}
        AND (id > @after OR EXISTS (SELECT 1 FROM {table} WHERE workspace_id = @workspaceId AND id = @after))
        AND ({CommitSequence}, id) > (
            COALESCE((SELECT {CommitSequence} FROM {table} WHERE workspace_id = @workspaceId AND id = @after),
                     (SELECT MIN({CommitSequence}) FROM {table} WHERE workspace_id = @workspaceId AND id > @after)),
            CASE WHEN EXISTS (SELECT 1 FROM {table} WHERE workspace_id = @workspaceId AND id = @after) THEN @after ELSE '' END)
        ORDER BY {CommitSequence}, id
        """;

    /// <summary>True when the exception is a unique-constraint violation.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>True when the exception says storage is unreachable or busy rather than that the request was wrong.</summary>
    public abstract bool IsTransient(DbException exception);
}
