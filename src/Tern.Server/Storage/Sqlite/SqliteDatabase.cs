using System.Data.Common;
using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Tern.Server.Storage.Sqlite;

/// <summary>The embedded provider: one SQLite file in WAL mode, readers in parallel, writers queued.</summary>
public sealed class SqliteDatabase : Database
{
    private readonly string _connectionString;
    private readonly string _writerConnectionString;
    // Not disposed with the container: final flushes at shutdown still write through it.
    private readonly WriterGate _writeGate = new();
    private readonly DedicatedThread _writerThread = new("tern-sqlite-writer");
    private readonly DedicatedThread _maintenanceThread = new("tern-sqlite-maintenance");
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> _prepared = [];
    private SqliteConnection? _writer;

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        };
        _connectionString = builder.ToString();
        builder.Pooling = false;
        _writerConnectionString = builder.ToString();
    }

    public string Path { get; }

    /// <summary>Write transactions committed since start.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    private long _commits;

    public override StorageProvider Provider => StorageProvider.Sqlite;

    public override bool CanBackUp => true;

    /// <summary>
    /// <c>VACUUM INTO</c> from a reader connection: one read transaction, so the copy is the database as of one commit,
    /// while the writer goes on committing to the WAL. The copy is compacted and needs no WAL of its own. It runs on the
    /// maintenance thread rather than the thread pool: copying a large database holds its thread for a long time.
    /// </summary>
    public override Task BackupToAsync(string path, CancellationToken cancellationToken) =>
        _maintenanceThread.RunAsync(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "VACUUM INTO @path";
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@path";
            parameter.Value = System.IO.Path.GetFullPath(path);
            command.Parameters.Add(parameter);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        });

    public override SqlDialect Dialect { get; } = new SqliteDialect();

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await PrepareAsync(connection, "", cancellationToken);
        return connection;
    }

    /// <summary>
    /// Every write goes through one long-lived connection, taken in turn: SQLite admits one writer anyway, and a
    /// single connection keeps a large page cache warm for the click writer's inserts and rollup upserts.
    /// </summary>
    public override async Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground)
    {
        var asked = Stopwatch.GetTimestamp();
        Asked(priority, asked);

        await _writeGate.EnterAsync(priority, cancellationToken);
        var entered = Stopwatch.GetTimestamp();
        try
        {
            return await _writerThread.RunAsync(() => TransactAsync(work, cancellationToken));
        }
        finally
        {
            _writeGate.Exit();
            Finished(priority, asked);
            var use = _uses[(int)priority];
            Interlocked.Increment(ref use.Turns);
            Interlocked.Add(ref use.WaitedTicks, entered - asked);
            Interlocked.Add(ref use.HeldTicks, Stopwatch.GetTimestamp() - entered);
        }
    }

    /// <summary>One write transaction on the writer connection (opened at first use, and again after an error).</summary>
    private async Task<T> TransactAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            var connection = new SqliteConnection(_writerConnectionString);
            await connection.OpenAsync(cancellationToken);
            // Checkpoints are the SqliteCheckpointer's job, off the writer's path; the writer's own automatic one
            // stays as a backstop for a WAL of 64 MiB (16,384 pages), should the checkpointer fall behind.
            await PrepareAsync(connection,
                "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=16384; PRAGMA journal_size_limit=67108864;",
                cancellationToken);
            _writer = connection;
        }

        try
        {
            await using var transaction = await _writer.BeginTransactionAsync(cancellationToken);
            var result = await work(_writer, transaction);
            await transaction.CommitAsync(cancellationToken);
            Interlocked.Increment(ref _commits);
            return result;
        }
        catch (SqliteException)
        {
            // The connection may be unusable (I/O error, disk full): the next write opens a fresh one.
            await _writer.DisposeAsync();
            _writer = null;
            throw;
        }
    }

    private readonly Use[] _uses = [.. Enum.GetValues<WritePriority>().Order().Select(_ => new Use())];

    public override IReadOnlyList<WriterUse> WriterUses() =>
        [.. _uses.Select((use, i) => new WriterUse((WritePriority)i, Volatile.Read(ref use.Turns),
            Volatile.Read(ref use.WaitedTicks) / (double)Stopwatch.Frequency, Volatile.Read(ref use.HeldTicks) / (double)Stopwatch.Frequency))];

    private sealed class Use
    {
        public long Turns;
        public long WaitedTicks;
        public long HeldTicks;
    }

    /// <summary>
    /// Copies committed pages from the WAL into the database file without waiting for (or holding up) readers or
    /// the writer. Run often from the background, it keeps the WAL short and spares the writer SQLite's automatic
    /// checkpoint, which otherwise runs inside a commit every 1,000 pages. It runs on the maintenance thread rather than
    /// the thread pool: it holds its thread while it copies pages and waits for the disk.
    /// </summary>
    public Task CheckpointAsync(CancellationToken cancellationToken) =>
        _maintenanceThread.RunAsync(async () =>
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            return await command.ExecuteNonQueryAsync(cancellationToken);
        });

    /// <summary>Per-connection settings, run once per physical connection (pooled connections keep them).</summary>
    private async Task PrepareAsync(SqliteConnection connection, string extra, CancellationToken cancellationToken)
    {
        var handle = connection.Handle!;
        if (_prepared.TryGetValue(handle, out _))
        {
            return;
        }

        await using var pragma = connection.CreateCommand();
        // WAL with synchronous=NORMAL survives a process crash; only an OS crash can lose the last commits.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; " + extra;
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        _prepared.AddOrUpdate(handle, handle);
    }

    private sealed class SqliteDialect : SqlDialect
    {
        public override string CaseInsensitiveLike => "LIKE";

        public override string SkipLocked(string alias) => "";  // one writer at a time: nothing to skip

        public override string LockedForUpdate => "";

        public override string LockedAgainstDeletion => "";

        public override string InList(string column, string parameter) => $"{column} IN (SELECT value FROM json_each(@{parameter}))";

        public override object List(IEnumerable<string> items)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
            using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                json.WriteStartArray();
                foreach (var item in items)
                {
                    json.WriteStringValue(item);
                }

                json.WriteEndArray();
            }

            return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        }

        public override string CommitSequence => "rowid";

        public override string Settled => "1 = 1";  // one writer: a row is visible only once committed, after all before it

        public override bool IsUniqueViolation(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

        public override bool IsTransient(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 5 or 6 or 10 or 13 or 14 };
    }
}
