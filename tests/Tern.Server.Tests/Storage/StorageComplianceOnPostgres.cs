using Npgsql;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

public sealed class StorageComplianceOnPostgres : StorageCompliance
{
    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.PostgresAsync(DisposeAfterTest);

    [Fact]
    public async Task TheTablesEveryClickUpdatesLeaveRoomOnTheirPagesAndAreVacuumedEarly()
    {
        await using var connection = await Database.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT relname, array_to_string(reloptions, ',') FROM pg_class WHERE relname IN ('click_rollups', 'links') ORDER BY relname";
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var options = new Dictionary<string, string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            options[reader.GetString(0)] = reader.GetString(1);
        }

        Assert.Contains("fillfactor=90", options["click_rollups"], StringComparison.Ordinal);
        Assert.Contains("autovacuum_vacuum_scale_factor=0.02", options["click_rollups"], StringComparison.Ordinal);
        Assert.Contains("fillfactor=90", options["links"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheExpirySweepCanReadOnlyTheLinksWithAnExpiryStillToAnnounce()
    {
        var sql = new Tern.Server.Links.LinkStore(Database).ExpiredSql(byClickLimit: false);
        await using var connection = (NpgsqlConnection)await Database.OpenAsync(TestContext.Current.CancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        // Too few rows here for the planner to prefer an index on its own: with sequential scans priced out, the plan
        // shows whether the partial index fits the sweep's condition.
        await using (var off = new NpgsqlCommand("SET LOCAL enable_seqscan = off", connection, transaction))
        {
            await off.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await using var explain = new NpgsqlCommand("EXPLAIN " + sql, connection, transaction);
        explain.Parameters.AddWithValue("now", 1L);
        explain.Parameters.AddWithValue("limit", 500);
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync(TestContext.Current.CancellationToken))
        {
            while (await reader.ReadAsync(TestContext.Current.CancellationToken))
            {
                plan.Add(reader.GetString(0));
            }
        }

        Assert.Contains(plan, line => line.Contains("links_expiring", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Sort", StringComparison.Ordinal));
    }
}
