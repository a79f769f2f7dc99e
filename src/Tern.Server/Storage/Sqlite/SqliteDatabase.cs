using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Tern.Server.Storage.Sqlite;

/// <summary>The embedded provider: one SQLite file in WAL mode, readers in parallel, writers queued.</summary>
public sealed class SqliteDatabase : Database
{
    private readonly string _connectionString;
    // Not disposed with the container: final flushes at shutdown still write through it.
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteDatabase(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public override StorageProvider Provider => StorageProvider.Sqlite;

    public override SqlDialect Dialect { get; } = new SqliteDialect();

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        // WAL with synchronous=NORMAL survives a process crash; only an OS crash can lose the last commits.
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    public override async Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var result = await work(connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private sealed class SqliteDialect : SqlDialect
    {
        public override string CaseInsensitiveLike => "LIKE";

        public override string SkipLocked(string alias) => "";  // one writer at a time: nothing to skip

        public override string InList(string column, string parameter) => $"{column} IN @{parameter}";

        public override bool IsUniqueViolation(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 19, SqliteExtendedErrorCode: 2067 or 1555 };

        public override bool IsTransient(DbException exception) =>
            exception is SqliteException { SqliteErrorCode: 5 or 6 or 10 or 13 or 14 };
    }
}
