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
}
