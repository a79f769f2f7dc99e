using System.Data.Common;
using Dapper;

namespace Tern.Server.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The one door to storage. Domain code writes portable SQL (both providers accept <c>@name</c> parameters,
/// <c>ON CONFLICT</c> and <c>RETURNING</c>, and timestamps are stored as Unix milliseconds) and asks the
/// <see cref="SqlDialect"/> for the few spots where the engines differ.
/// </summary>
public abstract class Database
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(3);

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
    /// in-process, because the engine admits one writer at a time and its busy-wait is slower than a queue.
    /// </summary>
    public abstract Task<T> WriteAsync<T>(
        Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken);

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

    /// <summary>True when storage answers a trivial query within a few seconds.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PingTimeout);
        try
        {
            await using var connection = await OpenAsync(timeout.Token);
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(timeout.Token);
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
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
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
    /// "<paramref name="column"/> is one of the list parameter": Dapper expands <c>IN @list</c> on SQLite, while
    /// on PostgreSQL it binds the list as one array, which takes <c>= ANY(@list)</c>.
    /// </summary>
    public abstract string InList(string column, string parameter);

    /// <summary>The clause that makes a claiming SELECT skip rows other transactions hold (PostgreSQL), or nothing.</summary>
    public abstract string SkipLocked(string alias);

    /// <summary>True when the exception is a unique-constraint violation.</summary>
    public abstract bool IsUniqueViolation(DbException exception);

    /// <summary>True when the exception says storage is unreachable or busy rather than that the request was wrong.</summary>
    public abstract bool IsTransient(DbException exception);
}
