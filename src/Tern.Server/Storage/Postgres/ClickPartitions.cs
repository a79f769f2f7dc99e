using System.Globalization;
using Dapper;

namespace Tern.Server.Storage.Postgres;

/// <summary>
/// The monthly partitions of <c>clicks</c> on PostgreSQL (migration 0004): named <c>clicks_YYYY_MM</c>, each
/// holding one UTC month of <c>ts</c>, beside a DEFAULT partition for anything outside them. Months are made
/// ahead by the maintenance job, and retention drops the months wholly past its cutoff.
/// </summary>
public static class ClickPartitions
{
    /// <summary>Months made ahead of the current one, so a missed maintenance run or two never sends clicks to DEFAULT.</summary>
    public const int MonthsAhead = 2;

    private const string Prefix = "clicks_";

    /// <summary>Creates the partitions of this month and the next <see cref="MonthsAhead"/> that do not exist yet.</summary>
    public static async Task CreateAheadAsync(PostgresDatabase database, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        for (var ahead = 0; ahead <= MonthsAhead; ahead++)
        {
            var atMs = month.AddMonths(ahead).ToUnixTimeMilliseconds();
            await database.WriteAsync(async (connection, transaction) =>
            {
                // Attaching takes a brief lock on the parent: wait behind a long query for a moment, not for ever.
                await connection.ExecuteAsync(new CommandDefinition("SET LOCAL lock_timeout = '5s'", transaction: transaction,
                    cancellationToken: cancellationToken));
                return await connection.ExecuteScalarAsync<string>(new CommandDefinition(
                    "SELECT tern_click_partition(@atMs)", new { atMs }, transaction, cancellationToken: cancellationToken));
            }, cancellationToken);
        }
    }

    /// <summary>The monthly partitions with the month each holds, oldest first.</summary>
    public static async Task<IReadOnlyList<(string Name, DateTimeOffset Month)>> ListAsync(PostgresDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var names = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'clicks'::regclass",
            cancellationToken: cancellationToken));
        return [.. names
            .Select(name => (Name: name, Month: MonthOf(name)))
            .Where(p => p.Month is not null)
            .Select(p => (p.Name, p.Month!.Value))
            .OrderBy(p => p.Item2)];
    }

    /// <summary>
    /// Drops every monthly partition whose whole month lies before the cutoff, and returns how many clicks they
    /// held. What is past the cutoff in the month that straddles it is left to the row-wise purge.
    /// </summary>
    public static async Task<int> DropOlderThanAsync(PostgresDatabase database, long cutoffMs, CancellationToken cancellationToken)
    {
        var dropped = 0;
        foreach (var (name, month) in await ListAsync(database, cancellationToken))
        {
            if (month.AddMonths(1).ToUnixTimeMilliseconds() > cutoffMs)
            {
                continue;
            }

            dropped += await database.WriteAsync(async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition("SET LOCAL lock_timeout = '5s'", transaction: transaction,
                    cancellationToken: cancellationToken));
                // A month whose clicks the rollups do not all hold yet waits for the fold (it is months behind only if broken).
                var (rows, unfolded) = await connection.QuerySingleAsync<(int, bool)>(new CommandDefinition(
                    $"SELECT COUNT(*)::int, COALESCE(bool_or(tx >= (SELECT rolled_up_tx FROM click_rollup_state WHERE id = 1)), FALSE) FROM \"{name}\"",
                    transaction: transaction, cancellationToken: cancellationToken));
                if (unfolded)
                {
                    return 0;
                }

                await connection.ExecuteAsync(new CommandDefinition(
                    $"DROP TABLE \"{name}\"", transaction: transaction, cancellationToken: cancellationToken));
                return rows;
            }, cancellationToken);
        }

        return dropped;
    }

    /// <summary>The month of a <c>clicks_YYYY_MM</c> name; null for any other partition (DEFAULT).</summary>
    private static DateTimeOffset? MonthOf(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal)
        && DateTime.TryParseExact(name[Prefix.Length..], "yyyy_MM", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var month)
            ? new DateTimeOffset(month, TimeSpan.Zero)
            : null;
}
