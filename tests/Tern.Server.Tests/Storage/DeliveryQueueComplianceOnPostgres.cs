using System.Text.Json;
using Dapper;
using Npgsql;
using Tern.Server.Access;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Storage;

public sealed class DeliveryQueueComplianceOnPostgres : DeliveryQueueCompliance
{
    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.PostgresAsync(DisposeAfterTest);

    /// <summary>
    /// The rows PostgreSQL's scan of the deliveries read to find the batch (returned, plus removed by the filter), from
    /// <c>EXPLAIN (ANALYZE)</c>; the scan must go through the index of pending deliveries.
    /// </summary>
    protected override async Task<long> ClaimCostAsync(string sql, object parameters)
    {
        await ExecuteAsync("ANALYZE webhook_deliveries");
        var json = await InRolledBackTransactionAsync((connection, transaction) => connection.ExecuteScalarAsync<string>(
            new CommandDefinition("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, parameters, transaction, cancellationToken: TestContext.Current.CancellationToken)));
        var scans = new List<JsonElement>();
        Collect(JsonDocument.Parse(json!).RootElement[0].GetProperty("Plan"), scans);
        var scan = Assert.Single(scans);
        Assert.Equal("webhook_deliveries_ready", scan.GetProperty("Index Name").GetString());
        var removed = scan.TryGetProperty("Rows Removed by Filter", out var filtered) ? filtered.GetInt64() : 0;
        return (scan.GetProperty("Actual Rows").GetInt64() * scan.GetProperty("Actual Loops").GetInt64()) + removed;
    }

    [Fact]
    public async Task AnEndpointDeletedWhileItsAttemptsAreRecordedLeavesBothWithoutADeadlock()
    {
        var webhook = await NewWebhookAsync();
        await EnqueueAsync(webhook, 3, Now - 1_000);
        var claimed = await Queue.ClaimAsync([(webhook, 3)], Now, ClaimMs, Ct);

        await DeleteWhileAsync(webhook, () => Queue.RecordAsync([.. claimed.Select(c => Record(c, Now, 200, succeeded: true, next: null))], 86_400_000, Ct));

        Assert.Empty(await QueryAsync<string>("SELECT id FROM webhook_attempts"));
        Assert.Empty(await QueryAsync<string>("SELECT id FROM webhook_deliveries"));
    }

    [Fact]
    public async Task AnEventFannedOutWhileAnEndpointIsDeletedCommitsWithoutADeliveryToIt()
    {
        var webhook = await NewWebhookAsync();
        var fanOut = new WebhookFanOut(new DeliveryAnnouncements(), new SubscribedEventTypes(TimeProvider.System), Database);
        var clicked = new AppendedEvent(Ids.New("evt", Now), EventTypes.LinkClicked, AccessStore.DefaultWorkspaceId, null, [], false, Now, "{}");

        await DeleteWhileAsync(webhook, () => Database.WriteAsync(async (connection, transaction) =>
        {
            await EventLog.AppendAsync(connection, transaction, [clicked], Ct);
            await fanOut.OnAppendedAsync(connection, transaction, [clicked], Ct);
            return true;
        }, Ct));

        Assert.Equal([clicked.Id], await QueryAsync<string>("SELECT id FROM events"));
        Assert.Empty(await QueryAsync<string>("SELECT id FROM webhook_deliveries"));
    }

    /// <summary>
    /// Deletes the endpoint as a deletion does (its row first, the cascade to its deliveries after) while
    /// <paramref name="work"/> runs into that deletion's lock; both must then finish.
    /// </summary>
    private async Task DeleteWhileAsync(string webhook, Func<Task> work)
    {
        await using var deleting = (NpgsqlConnection)await Database.OpenAsync(Ct);
        await using var transaction = await deleting.BeginTransactionAsync(Ct);
        await deleting.ExecuteAsync(new CommandDefinition(
            "SELECT id FROM webhooks WHERE id = @webhook FOR UPDATE", new { webhook }, transaction, cancellationToken: Ct));
        var working = work();
        for (var polls = 0; polls < 3_000 && !working.IsCompleted && await WaitingForALockAsync() == 0; polls++)
        {
            await Task.Delay(10, Ct);
        }

        Assert.Equal(1, await WaitingForALockAsync());
        await deleting.ExecuteAsync(new CommandDefinition("DELETE FROM webhooks WHERE id = @webhook", new { webhook }, transaction, cancellationToken: Ct));
        await transaction.CommitAsync(Ct);
        await working;
    }

    private async Task<long> WaitingForALockAsync() => (await QueryAsync<long>(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).Single();

    protected override void AssertClaimCostWithinBatch(long cost, int take) => Assert.InRange(cost, take, take + 1);

    /// <summary>The plan's scans of the deliveries table under the claim's alias.</summary>
    private static void Collect(JsonElement node, List<JsonElement> scans)
    {
        if (node.TryGetProperty("Relation Name", out var relation) && relation.GetString() == "webhook_deliveries"
            && node.TryGetProperty("Alias", out var alias) && alias.GetString() == "d")
        {
            scans.Add(node);
        }

        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Collect(child, scans);
            }
        }
    }
}
