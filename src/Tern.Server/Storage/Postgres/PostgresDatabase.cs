using System.Data.Common;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace Tern.Server.Storage.Postgres;

/// <summary>The scale-out provider: any number of Tern nodes share one PostgreSQL.</summary>
public sealed class PostgresDatabase : Database
{
    /// <summary>
    /// First key of every cluster-job advisory lock ("tern"); the second is a hash of the job's name. Two-key
    /// advisory locks never collide with the one-key lock the migrator takes.
    /// </summary>
    public const int JobLockClass = 0x7465726E;

    // Kept apart from the data source, whose ConnectionString property leaves the password out.
    private readonly string _connectionString;

    public PostgresDatabase(string connectionString) : this(NpgsqlDataSource.Create(connectionString), connectionString)
    {
    }

    public PostgresDatabase(NpgsqlDataSource dataSource, string? connectionString = null)
    {
        DataSource = dataSource;
        _connectionString = connectionString ?? dataSource.ConnectionString;
        var settings = new NpgsqlConnectionStringBuilder(_connectionString);
        _connectTimeoutMs = settings.Timeout * 1000L;
        _openDeadlineMs = Math.Max(settings.Timeout, settings.CommandTimeout) * 1000L; // as long in all as one statement
        _redoable = new(() => RedoableSource(_connectionString));
    }

    private readonly long _connectTimeoutMs;
    private readonly long _openDeadlineMs;

    /// <summary>Most connections of the pool of <see cref="WriteRedoableAsync{T}"/>: its writers are a node's workers, few at a time.</summary>
    public const int RedoablePoolSize = 4;

    /// <summary>
    /// The pool of <see cref="WriteRedoableAsync{T}"/>: the same server and settings, each of its sessions set to
    /// <c>synchronous_commit = off</c> once, when it connects, and not reset between uses (nothing else uses them, and
    /// they keep no other state). A plain <c>SET</c> rather than a startup option, which PgBouncer refuses by default.
    /// </summary>
    private readonly Lazy<NpgsqlDataSource> _redoable;

    private static NpgsqlDataSource RedoableSource(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString) { NoResetOnClose = true };
        settings.MaxPoolSize = Math.Min(settings.MaxPoolSize, RedoablePoolSize);
        settings.MinPoolSize = Math.Min(settings.MinPoolSize, settings.MaxPoolSize);
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        builder.UsePhysicalConnectionInitializer(
            connection =>
            {
                using var command = new NpgsqlCommand(RedoableSession, connection);
                command.ExecuteNonQuery();
            },
            async connection =>
            {
                await using var command = new NpgsqlCommand(RedoableSession, connection);
                await command.ExecuteNonQueryAsync();
            });
        return builder.Build();
    }

    private const string RedoableSession = "SET synchronous_commit = off";

    public NpgsqlDataSource DataSource { get; }

    /// <summary>How long one attempt to open a connection may take; attempts are repeated within the deadline.</summary>
    public const int ConnectAttemptSeconds = 1;

    /// <summary>
    /// The connection string with Tern's deadlines where it sets none. Each statement fails after
    /// <paramref name="seconds"/>; a statement that timed out is given up at once (its cancel request is sent but its
    /// answer not waited for, and the connection is dropped). An attempt to open a connection fails after
    /// <see cref="ConnectAttemptSeconds"/>, and <see cref="OpenAsync"/> repeats attempts for up to
    /// <paramref name="seconds"/> in all. The short attempt matters because Npgsql's cancel request opens a connection
    /// of its own with that timeout: to a frozen server (whose kernel still accepts connections) it waits that long for
    /// an answer that never comes. GSS encryption (Kerberos) is off unless asked for, since negotiating it would make
    /// the cancel request try twice. So a server that stops answering (frozen, or behind a dead network path) costs a
    /// caller the statement deadline plus a second, and a transient error, never a wait without end.
    /// </summary>
    public static string WithDeadlines(string connectionString, int seconds)
    {
        // NpgsqlConnectionStringBuilder.ContainsKey answers for every keyword it knows; the plain builder holds only what was written.
        var written = new DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Sets(params string[] spellings) => spellings.Any(written.ContainsKey);
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Sets("Timeout"))
        {
            builder.Timeout = Math.Min(ConnectAttemptSeconds, seconds);
        }

        if (!Sets("Command Timeout", "CommandTimeout"))
        {
            builder.CommandTimeout = seconds;
        }

        if (!Sets("Cancellation Timeout", "CancellationTimeout"))
        {
            builder.CancellationTimeout = -1;
        }

        if (!Sets("GSS Encryption Mode", "GssEncryptionMode", "GssEncMode"))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }

        return builder.ConnectionString;
    }

    public override StorageProvider Provider => StorageProvider.Postgres;

    public override SqlDialect Dialect { get; } = new PostgresDialect();

    public override bool SingleWriter => false;

    public override bool HasNotifications => true;

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await OpenPooledAsync(cancellationToken);

    /// <summary>
    /// A pooled connection. An attempt that times out (a slow server, a busy pool) is repeated while the statement
    /// deadline allows, so a short connect timeout costs a loaded machine a retry, not an error.
    /// </summary>
    private Task<NpgsqlConnection> OpenPooledAsync(CancellationToken cancellationToken) => OpenPooledAsync(DataSource, cancellationToken);

    private async Task<NpgsqlConnection> OpenPooledAsync(NpgsqlDataSource source, CancellationToken cancellationToken)
    {
        var started = Environment.TickCount64;
        while (true)
        {
            try
            {
                return await source.OpenConnectionAsync(cancellationToken);
            }
            catch (NpgsqlException exception) when (exception.InnerException is TimeoutException
                && Environment.TickCount64 - started + _connectTimeoutMs <= _openDeadlineMs + 250 && !cancellationToken.IsCancellationRequested)
            {
                // Try again: the next attempt still ends within the deadline.
            }
        }
    }

    /// <summary>Each write on a pooled connection of its own; the server orders them, so the priority is not needed.</summary>
    public override Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground) =>
        TrackedAsync(priority, () => TransactAsync(DataSource, work, cancellationToken));

    public override Task<T> WriteRedoableAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Background) =>
        TransactAsync(_redoable.Value, work, cancellationToken);

    private async Task<T> TransactAsync<T>(NpgsqlDataSource source, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenPooledAsync(source, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public override Task<T> WriteStatementAsync<T>(
        Func<DbConnection, DbTransaction?, Task<T>> work, CancellationToken cancellationToken, WritePriority priority = WritePriority.Foreground) =>
        TrackedAsync(priority, async () =>
        {
            await using var connection = await OpenPooledAsync(cancellationToken);
            return await work(connection, null);
        });

    /// <summary>
    /// A connection outside the pool, for a session that lives as long as the node (LISTEN): it neither takes a pool
    /// slot for ever nor goes back to the pool with state attached. Npgsql's keepalive lets a wait notice a dead server.
    /// </summary>
    public NpgsqlConnection CreateDedicatedConnection() => new(new NpgsqlConnectionStringBuilder(_connectionString)
    {
        Pooling = false,
        KeepAlive = 10,
        // A session that waits for notifications is not a statement: the serving deadline would cut it short.
        CommandTimeout = 30,
        CancellationTimeout = 2000,
    }.ConnectionString);

    /// <summary>Raw clicks by binary COPY: one stream for the whole batch, no statement to parse or plan.</summary>
    public override async Task InsertManyAsync<T>(
        DbConnection connection, DbTransaction transaction, string table, ColumnMap<T> columns, IReadOnlyList<T> rows,
        CancellationToken cancellationToken)
    {
        var values = new object?[columns.Count];
        await using var importer = await ((NpgsqlConnection)connection).BeginBinaryImportAsync(
            $"COPY {table} ({columns.List}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var row in rows)
        {
            columns.Bind(row, values);
            await importer.StartRowAsync(cancellationToken);
            foreach (var value in values)
            {
                await WriteAsync(importer, value, cancellationToken);
            }
        }

        await importer.CompleteAsync(cancellationToken);
    }

    private static Task WriteAsync(NpgsqlBinaryImporter importer, object? value, CancellationToken cancellationToken) => value switch
    {
        null => importer.WriteNullAsync(cancellationToken),
        string text => importer.WriteAsync(text, NpgsqlDbType.Text, cancellationToken),
        long number => importer.WriteAsync(number, NpgsqlDbType.Bigint, cancellationToken),
        int number => importer.WriteAsync(number, NpgsqlDbType.Integer, cancellationToken),
        bool flag => importer.WriteAsync(flag, NpgsqlDbType.Boolean, cancellationToken),
        _ => throw new NotSupportedException($"No COPY type for values of type {value.GetType().Name}."),
    };

    public override Task PrepareClickStorageAheadAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ClickPartitions.CreateAheadAsync(this, now, cancellationToken);

    public override Task<int> DropClickMonthsOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        ClickPartitions.DropOlderThanAsync(this, cutoffMs, cancellationToken);

    /// <summary>
    /// LISTEN holds a session as long as the node lives, so it gets a connection outside the pool; Npgsql's keepalive
    /// lets the wait notice a dead server.
    /// </summary>
    public override async Task ListenAsync(
        IReadOnlyList<string> channels, Action onListening, Action<string, string> onNotification, CancellationToken cancellationToken)
    {
        await using var connection = CreateDedicatedConnection();
        connection.Notification += (_, e) => onNotification(e.Channel, e.Payload);
        await connection.OpenAsync(cancellationToken);
        await using (var listen = new NpgsqlCommand(string.Concat(channels.Select(channel => $"LISTEN {channel};")), connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }

        onListening();
        while (true)
        {
            await connection.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The job's advisory lock is held on one session for the whole run, so runs never overlap; the period is then
    /// claimed in <c>cluster_jobs</c> against the database's clock, so nodes whose timers tick at different moments
    /// still run the job once per period between them (a tenth of the period is left as slack for timer drift).
    /// </summary>
    public override async Task<long?> TryRunExclusiveAsync(
        string job, TimeSpan period, Func<CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenPooledAsync(cancellationToken);
        var lockKey = new { lockClass = JobLockClass, lockId = JobLockId(job) };
        if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_lock(@lockClass, @lockId)", lockKey, cancellationToken: cancellationToken)))
        {
            return null;
        }

        try
        {
            var claimed = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                """
                INSERT INTO cluster_jobs (name, last_run_at) VALUES (@job, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)
                ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at
                WHERE cluster_jobs.last_run_at <= excluded.last_run_at - @gapMs
                RETURNING last_run_at
                """,
                new { job, gapMs = (long)(period.TotalMilliseconds * 0.9) }, cancellationToken: cancellationToken));
            if (claimed is null)
            {
                return null;
            }

            await work(cancellationToken);
            return claimed;
        }
        finally
        {
            await UnlockAsync(connection, lockKey);
        }
    }

    private static async Task UnlockAsync(NpgsqlConnection connection, object lockKey)
    {
        try
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@lockClass, @lockId)", lockKey);
        }
        catch (NpgsqlException)
        {
            // The session is gone, and its advisory locks with it.
        }
    }

    /// <summary>FNV-1a of the job's name: stable across processes and builds, unlike string.GetHashCode.</summary>
    public static int JobLockId(string job)
    {
        var hash = 2166136261u;
        foreach (var c in job)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private sealed class PostgresDialect : SqlDialect
    {
        public override string CaseInsensitiveLike => "ILIKE";

        public override string SkipLocked(string alias) => $"FOR UPDATE OF {alias} SKIP LOCKED";

        public override string LockedForUpdate => "FOR NO KEY UPDATE";

        public override string LockedAgainstDeletion => "FOR KEY SHARE";

        public override string InList(string column, string parameter) => $"{column} = ANY(@{parameter})";

        public override object List(IEnumerable<string> items) => items as string[] ?? [.. items];

        public override string CommitSequence => "tx";

        // A row is settled when its transaction is older than every transaction of this database that the statement's
        // snapshot saw running (or, with none, older than the snapshot's next id): no row can then appear before it
        // (migration 0012). The snapshot lists the whole cluster's transactions; those that pg_stat_activity shows in
        // another database are left out, so another database's long transaction holds nothing back. A transaction it
        // cannot place (ended since the snapshot, prepared, hidden by privileges) counts as this database's: later, never wrong.
        public override string Settled => """
            tx < COALESCE((SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
                WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname <> current_database()
                    AND a.backend_xid::text::numeric = x::text::numeric % 4294967296)),
                pg_snapshot_xmax(pg_current_snapshot()))
            """;

        public override bool IsUniqueViolation(DbException exception) =>
            exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

        public override bool IsTransient(DbException exception) => exception switch
        {
            NpgsqlException { IsTransient: true } => true,
            PostgresException { SqlState: var state } => state.StartsWith("08", StringComparison.Ordinal)
                || state.StartsWith("57P", StringComparison.Ordinal) || state == PostgresErrorCodes.TooManyConnections,
            NpgsqlException => true,
            _ => false,
        };
    }
}
