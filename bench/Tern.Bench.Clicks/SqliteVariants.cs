using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Tern.Bench.Clicks;

internal sealed record VariantResult(string Table, string Variant, double MsPerBatch, double CommitMs);

/// <summary>
/// Outside Tern, on a scratch SQLite file with Tern's pragmas and its clicks and click_rollups tables: the same rows
/// written as ClickStore writes them (multi-row statements of 50 rows with named parameters, re-bound each time)
/// and in other shapes, to see how much of a batch's time is the statement shape rather than SQLite's B-trees.
/// </summary>
internal static class SqliteVariants
{
    private const int Batch = 5000;
    private const int Batches = 20;

    private const string Schema = """
        CREATE TABLE clicks (
            id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, link_id TEXT NOT NULL, slug TEXT NOT NULL, domain TEXT NOT NULL,
            ts INTEGER NOT NULL, device TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL, country TEXT, referrer TEXT,
            referrer_host TEXT, language TEXT, is_bot BOOLEAN NOT NULL, visitor TEXT);
        CREATE INDEX clicks_workspace_id ON clicks (workspace_id, id);
        CREATE INDEX clicks_link_id ON clicks (link_id, id);
        CREATE TABLE click_rollups (
            scope_id TEXT NOT NULL, granularity TEXT NOT NULL, bucket INTEGER NOT NULL, dimension TEXT NOT NULL, key TEXT NOT NULL,
            clicks INTEGER NOT NULL, PRIMARY KEY (scope_id, granularity, dimension, bucket, key)) WITHOUT ROWID;
        """;

    private const string ClickColumns =
        "id, workspace_id, link_id, slug, domain, ts, device, browser, os, country, referrer, referrer_host, language, is_bot, visitor";

    private const string RollupColumns = "scope_id, granularity, bucket, dimension, key, clicks";

    private const string Upsert = " ON CONFLICT (scope_id, granularity, dimension, bucket, key) DO UPDATE SET clicks = click_rollups.clicks + excluded.clicks";

    public static async Task<IReadOnlyList<VariantResult>> RunAsync()
    {
        var results = new List<VariantResult>();
        foreach (var (name, rows) in new[] { ("multi-row, 50 rows × 15 named parameters (as ClickStore)", 50), ("multi-row, 10 rows", 10), ("one row per statement, prepared once", 1) })
        {
            results.Add(await TimeAsync("clicks", name, rows, 15, ClickColumns, "", ClickRow));
        }

        foreach (var (name, rows) in new[] { ("multi-row upsert, 50 rows × 6 named parameters (as ClickStore)", 50), ("multi-row upsert, 10 rows", 10), ("one row per statement, prepared once", 1) })
        {
            results.Add(await TimeAsync("click_rollups", name, rows, 6, RollupColumns, Upsert, RollupRow));
        }

        return results;
    }

    private static async Task<VariantResult> TimeAsync(
        string table, string variant, int rowsPerStatement, int columns, string columnList, string tail, Action<long, object?[]> row)
    {
        await Machine.WaitQuietAsync($"SQLite variant {table}: {variant}");
        var folder = Directory.CreateTempSubdirectory("tern-bench-sqlite-").FullName;
        try
        {
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(folder, "scratch.db")};Pooling=False");
            await connection.OpenAsync();
            await using (var setup = connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; " + Schema;
                await setup.ExecuteNonQueryAsync();
            }

            var values = new object?[columns];
            double total = 0, commit = 0;
            long next = 0;
            for (var b = 0; b < Batches; b++)
            {
                var clock = Stopwatch.StartNew();
                await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
                await using var command = Build(connection, transaction, $"INSERT INTO {table} ({columnList}) VALUES ", tail, rowsPerStatement, columns);
                for (var start = 0; start < Batch; start += rowsPerStatement)
                {
                    for (var r = 0; r < rowsPerStatement; r++)
                    {
                        row(next++, values);
                        for (var c = 0; c < columns; c++)
                        {
                            command.Parameters[(r * columns) + c].Value = values[c] ?? DBNull.Value;
                        }
                    }

                    await command.ExecuteNonQueryAsync();
                }

                var beforeCommit = clock.Elapsed.TotalMilliseconds;
                await transaction.CommitAsync();
                total += clock.Elapsed.TotalMilliseconds;
                commit += clock.Elapsed.TotalMilliseconds - beforeCommit;
            }

            var result = new VariantResult(table, variant, total / Batches, commit / Batches);
            Machine.Log($"  {table}, {variant}: {result.MsPerBatch:0.0} ms per {Batch} rows (commit {result.CommitMs:0.0})");
            return result;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static SqliteCommand Build(SqliteConnection connection, SqliteTransaction transaction, string head, string tail, int rows, int columns)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var text = new StringBuilder(head);
        for (var r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "(" : ",(");
            for (var c = 0; c < columns; c++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"@p{r}_{c}");
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
                text.Append(c == 0 ? "" : ",").Append(name);
            }

            text.Append(')');
        }

        command.CommandText = text.Append(tail).ToString();
        return command;
    }

    private static readonly string[] Devices = ["mobile", "desktop", "tablet"];
    private static readonly string[] Browsers = ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet"];
    private static readonly string[] Countries = ["US", "DE", "GB", "FR", "BR", "IN", "JP"];

    /// <summary>A click like Tern's: time-ordered id, one of 300 links, a few header-derived values.</summary>
    private static void ClickRow(long i, object?[] values)
    {
        var link = string.Create(CultureInfo.InvariantCulture, $"lnk_01JBENCH{i % 300:D16}");
        values[0] = string.Create(CultureInfo.InvariantCulture, $"clk_{1_700_000_000_000 + (i * 2592):D16}{i % 65536:X4}");
        values[1] = "ws_default";
        values[2] = link;
        values[3] = string.Create(CultureInfo.InvariantCulture, $"c{i % 300}");
        values[4] = "127.0.0.1";
        values[5] = 1_700_000_000_000 + (i * 2592);
        values[6] = Devices[i % 3];
        values[7] = Browsers[i % 5];
        values[8] = "iOS";
        values[9] = Countries[i % 7];
        values[10] = i % 2 == 0 ? null : "https://www.google.com/";
        values[11] = i % 2 == 0 ? null : "www.google.com";
        values[12] = "en-US";
        values[13] = false;
        values[14] = null;
    }

    /// <summary>A rollup cell: 300 links × hours × a dimension's key; every row a new cell (inserts, the common case).</summary>
    private static void RollupRow(long i, object?[] values)
    {
        values[0] = string.Create(CultureInfo.InvariantCulture, $"lnk_01JBENCH{i % 300:D16}");
        values[1] = "h";
        values[2] = 1_700_000_000_000 + (i / 300 / 20 * 3_600_000);
        values[3] = (i / 300 % 5) switch { 0 => "country", 1 => "device", 2 => "browser", 3 => "os", _ => "referrer" };
        values[4] = string.Create(CultureInfo.InvariantCulture, $"k{i / 1500 % 4}");
        values[5] = 1L;
    }
}
