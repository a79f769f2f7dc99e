using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Tern.Server.Access;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Storage;

/// <summary>
/// The webhook delivery queue on every provider: claims per endpoint that cost what they take, whatever the backlog;
/// batches of attempts moved to their outcomes; purges in batches. Each test gets a fresh, migrated database.
/// </summary>
public abstract class DeliveryQueueCompliance : MigratedDatabaseTest
{
    protected const long ClaimMs = 30_000;

    private readonly WebhookSecrets _secrets = new(new Microsoft.AspNetCore.DataProtection.EphemeralDataProtectionProvider());

    protected WebhookStore Webhooks => new(Database, _secrets);

    protected DeliveryQueue Queue => new(Database, new EventLog(Database), Webhooks);

    protected static long Now => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>
    /// What running the claim statement cost, as the engine counts it (rows its scan read on PostgreSQL, virtual machine
    /// steps on SQLite), measured in a transaction that is rolled back.
    /// </summary>
    protected abstract Task<long> ClaimCostAsync(string sql, object parameters);

    [Fact]
    public async Task ClaimingABatchCostsWhatTheBatchTakesNotWhatTheBacklogHolds()
    {
        var busy = await NewWebhookAsync();
        var small = await NewWebhookAsync();
        var start = Now - 60_000;
        await EnqueueAsync(busy, 20_000, start);
        await EnqueueAsync(small, 300, start);
        // Claimed and still in flight: they have left the due range, so the scan does not even read them.
        Assert.Equal(64, (await Queue.ClaimAsync([(busy, 64), (small, 64)], Now, ClaimMs, Ct)).Count(c => c.Delivery.WebhookId == busy));

        var busyCost = await ClaimCostAsync(Queue.ClaimSql, new { webhookId = busy, now = Now, until = Now + ClaimMs, take = 100 });
        var smallCost = await ClaimCostAsync(Queue.ClaimSql, new { webhookId = small, now = Now, until = Now + ClaimMs, take = 100 });

        Assert.InRange(busyCost, 1, (smallCost * 11 / 10) + 16);
        AssertClaimCostWithinBatch(busyCost, take: 100);
    }

    /// <summary>Where the cost is a count of rows, it is the batch (and at most one row more, where the scan stops).</summary>
    protected virtual void AssertClaimCostWithinBatch(long cost, int take)
    {
    }

    [Fact]
    public async Task ReleasedDeliveriesAreDueAgainAtOnce()
    {
        var webhook = await NewWebhookAsync();
        var ids = await EnqueueAsync(webhook, 3, Now - 1_000);
        var claimed = await Queue.ClaimAsync([(webhook, 3)], Now, ClaimMs, Ct);

        await Queue.ReleaseAsync([.. claimed.Take(2).Select(c => c.Delivery.Id)], Now, Ct);

        Assert.Equal<string>(ids.Take(2), [.. (await Queue.ClaimAsync([(webhook, 10)], Now, ClaimMs, Ct)).Select(c => c.Delivery.Id)]);
    }

    [Fact]
    public async Task AnEndpointsBacklogDoesNotHoldUpAnotherAndEachTakesItsOldestFirst()
    {
        var busy = await NewWebhookAsync();
        var quiet = await NewWebhookAsync();
        var start = Now - 60_000;
        var busyIds = await EnqueueAsync(busy, 2_000, start);
        var quietIds = await EnqueueAsync(quiet, 3, start + 1);

        var claimed = await Queue.ClaimAsync([(busy, 5), (quiet, 10)], Now, ClaimMs, Ct);

        Assert.Equal<string>(busyIds.Take(5), [.. claimed.Where(c => c.Delivery.WebhookId == busy).Select(c => c.Delivery.Id)]);
        Assert.Equal<string>(quietIds, [.. claimed.Where(c => c.Delivery.WebhookId == quiet).Select(c => c.Delivery.Id)]);
        Assert.All(claimed, c => Assert.Contains("\"n\":", c.Payload, StringComparison.Ordinal));
        Assert.All(claimed, c => Assert.Equal(c.Delivery.WebhookId, c.Webhook.Id));
    }

    [Fact]
    public async Task AClaimedDeliveryIsTakenAgainOnlyOnceItsClaimHasLapsed()
    {
        var webhook = await NewWebhookAsync();
        var ids = await EnqueueAsync(webhook, 3, Now - 1_000);

        var first = await Queue.ClaimAsync([(webhook, 2)], Now, ClaimMs, Ct);
        var second = await Queue.ClaimAsync([(webhook, 10)], Now, ClaimMs, Ct);
        var afterLapse = await Queue.ClaimAsync([(webhook, 10)], Now + ClaimMs + 1, ClaimMs, Ct);

        Assert.Equal<string>(ids.Take(2), [.. first.Select(c => c.Delivery.Id)]);
        Assert.Equal<string>([ids[2]], [.. second.Select(c => c.Delivery.Id)]);
        Assert.Equal<string>(ids, [.. afterLapse.Select(c => c.Delivery.Id).Order(StringComparer.Ordinal)]);
    }

    [Fact]
    public async Task ConcurrentClaimsOfOneEndpointNeverTakeTheSameDelivery()
    {
        var webhook = await NewWebhookAsync();
        await EnqueueAsync(webhook, 300, Now - 1_000);

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Queue.ClaimAsync([(webhook, 100)], Now, ClaimMs, Ct)));

        var all = claims.SelectMany(c => c).Select(c => c.Delivery.Id).ToList();
        Assert.Equal(300, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public async Task ADisabledEndpointGetsNothing()
    {
        var webhook = await NewWebhookAsync();
        await EnqueueAsync(webhook, 3, Now - 1_000);
        var found = (await Webhooks.FindAsync(AccessStore.DefaultWorkspaceId, webhook, Ct))!;
        await Webhooks.UpdateAsync(found with { Enabled = false }, Ct);

        Assert.Empty(await Queue.ClaimAsync([(webhook, 10)], Now, ClaimMs, Ct));
    }

    [Fact]
    public async Task RecordingABatchMovesEachDeliveryToItsOutcomeAndKeepsTheEndpointsHealth()
    {
        var webhook = await NewWebhookAsync();
        await EnqueueAsync(webhook, 4, Now - 1_000);
        var claimed = await Queue.ClaimAsync([(webhook, 4)], Now, ClaimMs, Ct);
        var at = Now;
        var retryAt = at + 5_000;

        await Queue.RecordAsync(
        [
            Record(claimed[0], at, 200, succeeded: true, next: null),
            Record(claimed[1], at + 1, 500, succeeded: false, next: retryAt),
            Record(claimed[2], at + 2, 404, succeeded: false, next: null),
            Record(claimed[3], at + 3, null, succeeded: false, next: retryAt + 1),
        ], disableAfterMs: 86_400_000, Ct);

        var deliveries = (await Queue.ListAsync(webhook, null, null, 10, Ct)).ToDictionary(d => d.Delivery.Id, d => d.Delivery);
        var (succeeded, retried, failed, unreachable) = (deliveries[claimed[0].Delivery.Id], deliveries[claimed[1].Delivery.Id],
            deliveries[claimed[2].Delivery.Id], deliveries[claimed[3].Delivery.Id]);
        Assert.Equal((DeliveryStatus.Succeeded, 1, (long?)null, 200), (succeeded.Status, succeeded.Attempts, succeeded.NextAttemptAt, succeeded.LastStatusCode));
        Assert.Equal((DeliveryStatus.Pending, 1, (long?)retryAt, 500), (retried.Status, retried.Attempts, retried.NextAttemptAt, retried.LastStatusCode));
        Assert.Equal((DeliveryStatus.Failed, 1, (long?)null, 404), (failed.Status, failed.Attempts, failed.NextAttemptAt, failed.LastStatusCode));
        Assert.Equal((DeliveryStatus.Pending, retryAt + 1, "refused"), (unreachable.Status, unreachable.NextAttemptAt!.Value, unreachable.LastError));
        var health = (await Webhooks.FindAsync(AccessStore.DefaultWorkspaceId, webhook, Ct))!;
        Assert.Equal((at, (long?)at + 1), (health.LastSuccessAt!.Value, health.FailingSince));

        // A retry that is not due yet is not claimed; once due, it is.
        Assert.Empty(await Queue.ClaimAsync([(webhook, 10)], Now, ClaimMs, Ct));
        Assert.Equal(2, (await Queue.ClaimAsync([(webhook, 10)], retryAt + 1, ClaimMs, Ct)).Count);
    }

    [Fact]
    public async Task AnEndpointFailingLongerThanAllowedIsDisabledWithAReason()
    {
        var webhook = await NewWebhookAsync();
        await EnqueueAsync(webhook, 2, Now - 1_000);
        var claimed = await Queue.ClaimAsync([(webhook, 2)], Now, ClaimMs, Ct);

        await Queue.RecordAsync([Record(claimed[0], Now - 10_000, 503, succeeded: false, next: Now)], disableAfterMs: 5_000, Ct);
        await Queue.RecordAsync([Record(claimed[1], Now, 503, succeeded: false, next: Now)], disableAfterMs: 5_000, Ct);

        var found = (await Webhooks.FindAsync(AccessStore.DefaultWorkspaceId, webhook, Ct))!;
        Assert.False(found.Enabled);
        Assert.Contains("HTTP 503", found.DisabledReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AttemptsOfAnEndpointDeletedSinceTheyWereSentAreDroppedAndTheOthersRecorded()
    {
        var kept = await NewWebhookAsync();
        var deleted = await NewWebhookAsync();
        await EnqueueAsync(kept, 2, Now - 1_000);
        await EnqueueAsync(deleted, 2, Now - 1_000);
        var claimed = await Queue.ClaimAsync([(kept, 2), (deleted, 2)], Now, ClaimMs, Ct);
        Assert.True(await Webhooks.DeleteAsync(AccessStore.DefaultWorkspaceId, deleted, Ct));

        await Queue.RecordAsync([.. claimed.Select(c => Record(c, Now, 200, succeeded: true, next: null))], 86_400_000, Ct);

        Assert.Equal([kept, kept], await QueryAsync<string>("SELECT webhook_id FROM webhook_attempts"));
        Assert.All((await Queue.ListAsync(kept, null, null, 10, Ct)).Select(d => d.Delivery.Status), s => Assert.Equal(DeliveryStatus.Succeeded, s));
        Assert.Empty(await QueryAsync<string>("SELECT id FROM webhook_deliveries WHERE webhook_id = @deleted", new { deleted }));
    }

    [Fact]
    public async Task PurgingRemovesOldFinishedDeliveriesAndUnreferencedEventsAndKeepsWhatIsPending()
    {
        var webhook = await NewWebhookAsync();
        var old = Now - (40L * 86_400_000);
        var finished = await EnqueueAsync(webhook, 2_500, old);
        var stillPending = await EnqueueAsync(webhook, 3, old + 10_000);
        var recent = await EnqueueAsync(webhook, 5, Now - 1_000);
        await ExecuteAsync($"UPDATE webhook_deliveries SET status = 'succeeded' WHERE id <= '{finished[^1]}'");
        await ExecuteAsync($"INSERT INTO events (id, workspace_id, type, link_id, payload, created_at) VALUES ('{Ids.New("evt", old)}', 'ws_default', 'link.created', NULL, '{{}}', {old})");

        var purgedDeliveries = await Queue.PurgeOlderThanAsync(Now - (30L * 86_400_000), Ct);
        var purgedEvents = await new EventLog(Database).PurgeOlderThanAsync(Now - (30L * 86_400_000), Ct);

        Assert.Equal(2_500, purgedDeliveries);
        Assert.Equal(2_501, purgedEvents);
        var left = await QueryAsync<string>("SELECT id FROM webhook_deliveries ORDER BY id");
        Assert.Equal([.. stillPending, .. recent], left);
        Assert.Equal(8, (await QueryAsync<string>("SELECT id FROM events")).Count);
    }

    [Fact]
    public async Task TheBacklogCountsPendingAndDueDeliveriesAndTheLastMinutesOutcomes()
    {
        var webhook = await NewWebhookAsync();
        var first = Now - 5_000;
        await EnqueueAsync(webhook, 4, first);
        var claimed = await Queue.ClaimAsync([(webhook, 2)], Now, ClaimMs, Ct);
        await Queue.RecordAsync(
        [
            Record(claimed[0], Now, 200, succeeded: true, next: null),
            Record(claimed[1], Now, 500, succeeded: false, next: Now + 60_000),
        ], 86_400_000, Ct);

        var backlog = await Queue.BacklogAsync(webhook, Now, Ct);

        Assert.Equal((3L, 2L, 1L, 1L), (backlog.Pending, backlog.Due, backlog.SucceededLastMinute, backlog.FailedLastMinute));
        Assert.Equal(first + 2, backlog.OldestPendingAt);
    }

    protected static AttemptRecord Record(ClaimedDelivery claimed, long at, int? status, bool succeeded, long? next) =>
        new(new DeliveryAttempt(Ids.New("att", at), claimed.Delivery.Id, at, status, 3, status is null ? null : "ok",
            status is null ? "refused" : succeeded ? null : $"HTTP {status}"), claimed.Delivery, succeeded, next);

    protected async Task<string> NewWebhookAsync()
    {
        var now = Now;
        var webhook = new Webhook
        {
            Id = Ids.New("wh", now),
            WorkspaceId = AccessStore.DefaultWorkspaceId,
            Url = "https://receiver.example/hook",
            Events = [EventTypes.LinkClicked],
            Secret = "whsec_dGVzdA==",
            CreatedAt = now,
            UpdatedAt = now,
        };
        await Webhooks.InsertAsync(webhook, Ct);
        return webhook.Id;
    }

    /// <summary>Events and their pending deliveries to one endpoint, a millisecond apart from <paramref name="start"/> on; their ids in order.</summary>
    protected async Task<string[]> EnqueueAsync(string webhookId, int count, long start)
    {
        var events = Enumerable.Range(1, count)
            .Select(i => new AppendedEvent(Ids.New("evt", start + i), EventTypes.LinkClicked, AccessStore.DefaultWorkspaceId, null, [], false, start + i, $"{{\"n\":{i}}}"))
            .ToList();
        var deliveries = events.Select(e => WebhookFanOut.NewDelivery(webhookId, e)).ToList();
        await Database.WriteAsync(async (connection, transaction) =>
        {
            await EventLog.AppendAsync(connection, transaction, events, Ct);
            await DeliveryQueue.EnqueueAsync(connection, transaction, deliveries, Ct);
            return true;
        }, Ct);
        return [.. deliveries.Select(d => d.Id)];
    }

    protected async Task<List<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(Ct);
        return [.. await connection.QueryAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: Ct))];
    }

    protected async Task ExecuteAsync(string sql)
    {
        await using var connection = await Database.OpenAsync(Ct);
        await connection.ExecuteAsync(new CommandDefinition(sql, cancellationToken: Ct));
    }

    /// <summary>Runs <paramref name="work"/> in a transaction that is rolled back, so a measured statement changes nothing.</summary>
    protected async Task<T> InRolledBackTransactionAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work)
    {
        await using var connection = await Database.OpenAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        var result = await work(connection, transaction);
        await transaction.RollbackAsync(Ct);
        return result;
    }
}
