using Dapper;
using Tern.Server.Storage;
using Tern.Server.Storage.Sqlite;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

public sealed class StorageComplianceOnSqlite : StorageCompliance
{
    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.SqliteAsync(DisposeAfterTest);

    [Fact]
    public async Task TheExpirySweepReadsOnlyTheLinksWithAnExpiryStillToAnnounceInOrder()
    {
        var sql = new Tern.Server.Links.LinkStore(Database).ExpiredSql(byClickLimit: false);
        await using var connection = await Database.OpenAsync(TestContext.Current.CancellationToken);
        var rows = await connection.QueryAsync(new CommandDefinition("EXPLAIN QUERY PLAN " + sql, new { now = 1L, limit = 500 },
            cancellationToken: TestContext.Current.CancellationToken));
        var plan = string.Join("\n", rows.Select(r => (string)((IDictionary<string, object>)r)["detail"]));

        Assert.Contains("USING INDEX links_expiring", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN links", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
    }
}
