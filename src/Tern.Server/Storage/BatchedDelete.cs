using Dapper;

namespace Tern.Server.Storage;

/// <summary>
/// Deletes old rows a batch per transaction, so that a month of campaign traffic never holds the writer at once: the
/// rows of a table whose time-ordered id sorts below a bound, in id order, each batch read by key from where the last
/// one ended (rows that the condition keeps are passed over once, not read again by every batch).
/// </summary>
public static class BatchedDelete
{
    public const int BatchSize = 1000;

    /// <summary>
    /// Deletes the rows of <paramref name="table"/> with <c>id</c> below <paramref name="bound"/> for which
    /// <paramref name="condition"/> (SQL over the table's columns) holds; returns how many.
    /// </summary>
    public static async Task<int> BelowAsync(Database database, string table, string bound, string condition, CancellationToken cancellationToken)
    {
        var after = "";
        var total = 0;
        while (true)
        {
            var (deleted, last) = await database.WriteAsync(async (connection, transaction) =>
            {
                var ids = (await connection.QueryAsync<string>(new CommandDefinition(
                    $"SELECT id FROM {table} WHERE id > @after AND id < @bound ORDER BY id LIMIT @batch",
                    new { after, bound, batch = BatchSize }, transaction, cancellationToken: cancellationToken))).ToArray();
                if (ids.Length == 0)
                {
                    return (0, (string?)null);
                }

                var count = await connection.ExecuteAsync(new CommandDefinition(
                    $"DELETE FROM {table} WHERE {database.Dialect.InList("id", "ids")} AND {condition}",
                    new { ids = database.Dialect.List(ids) }, transaction, cancellationToken: cancellationToken));
                return (count, ids[^1]);
            }, cancellationToken, WritePriority.Background);
            total += deleted;
            if (last is null)
            {
                return total;
            }

            after = last;
        }
    }
}
