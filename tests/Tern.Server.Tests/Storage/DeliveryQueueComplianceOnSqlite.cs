using Dapper;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using Tern.Server.Storage;
using Tern.Server.Storage.Sqlite;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

public sealed class DeliveryQueueComplianceOnSqlite : DeliveryQueueCompliance
{
    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.SqliteAsync(DisposeAfterTest);

    /// <summary>The statement's virtual machine steps (<c>sqlite3_stmt_status</c>), which grow with every row it visits.</summary>
    protected override Task<long> ClaimCostAsync(string sql, object parameters) =>
        InRolledBackTransactionAsync((connection, _) =>
        {
            var handle = ((SqliteConnection)connection).Handle!;
            Assert.Equal(raw.SQLITE_OK, raw.sqlite3_prepare_v2(handle, sql, out var statement));
            using (statement)
            {
                foreach (var property in parameters.GetType().GetProperties())
                {
                    var index = raw.sqlite3_bind_parameter_index(statement, "@" + property.Name);
                    var bound = property.GetValue(parameters) is string text
                        ? raw.sqlite3_bind_text(statement, index, text)
                        : raw.sqlite3_bind_int64(statement, index, Convert.ToInt64(property.GetValue(parameters), System.Globalization.CultureInfo.InvariantCulture));
                    Assert.Equal(raw.SQLITE_OK, bound);
                }

                while (raw.sqlite3_step(statement) == raw.SQLITE_ROW)
                {
                }

                return Task.FromResult((long)raw.sqlite3_stmt_status(statement, raw.SQLITE_STMTSTATUS_VM_STEP, 0));
            }
        });

    [Fact]
    public async Task TheClaimSearchesThePendingIndexInDueOrderWithoutSortingOrScanning()
    {
        var queue = new Tern.Server.Webhooks.DeliveryQueue(Database, new Tern.Server.Events.EventLog(Database), new Tern.Server.Webhooks.WebhookStore(Database, new Tern.Server.Webhooks.WebhookSecrets(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider())));
        await using var connection = await Database.OpenAsync(TestContext.Current.CancellationToken);
        var rows = await connection.QueryAsync(new CommandDefinition("EXPLAIN QUERY PLAN " + queue.ClaimSql,
            new { webhookId = "wh_x", now = 1L, until = 2L, take = 10 }, cancellationToken: TestContext.Current.CancellationToken));
        var plan = string.Join("\n", rows.Select(r => (string)((IDictionary<string, object>)r)["detail"]));

        Assert.Contains("USING INDEX webhook_deliveries_ready (webhook_id=? AND next_attempt_at<?)", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN d", plan, StringComparison.Ordinal);
    }
}
