using System.Data.Common;
using Npgsql;

namespace Tern.Server.Storage.Postgres;

/// <summary>The scale-out provider: any number of Tern nodes share one PostgreSQL.</summary>
public sealed class PostgresDatabase(NpgsqlDataSource dataSource) : Database
{
    public NpgsqlDataSource DataSource { get; } = dataSource;

    public override StorageProvider Provider => StorageProvider.Postgres;

    public override SqlDialect Dialect { get; } = new PostgresDialect();

    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await DataSource.OpenConnectionAsync(cancellationToken);

    public override async Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private sealed class PostgresDialect : SqlDialect
    {
        public override string CaseInsensitiveLike => "ILIKE";

        public override string SkipLocked(string alias) => $"FOR UPDATE OF {alias} SKIP LOCKED";

        public override string InList(string column, string parameter) => $"{column} = ANY(@{parameter})";

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
