using System.Data.Common;
using Dapper;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;
using Stopwatch = System.Diagnostics.Stopwatch;

namespace Tern.Server.Webhooks;

/// <summary>
/// The <c>webhook_deliveries</c> and <c>webhook_attempts</c> tables as a queue per endpoint. Every statement on the
/// delivery path costs what its batch costs, not what the backlog holds: a claim walks one endpoint's due
/// deliveries through an index of pending ones only; recording a batch of attempts is a handful of statements;
/// purging goes a thousand rows per transaction.
/// </summary>
public sealed class DeliveryQueue(Database database, EventLog events, WebhookStore webhookStore)
{
    private readonly WriteBudget _recordBudget = new(database);

    private const int RowsPerStatement = 500;
    private const string Pending = DeliveryStatuses.PendingSql;

    /// <summary>A delivery's columns: what is inserted, and what is read back (its last outcome comes from its attempts).</summary>
    private static readonly ColumnMap<Delivery> DeliveryColumns = new(
        ("id", d => d.Id), ("webhook_id", d => d.WebhookId), ("workspace_id", d => d.WorkspaceId), ("event_id", d => d.EventId),
        ("event_type", d => d.EventType), ("status", d => d.Status.ToStorage()), ("attempts", d => d.Attempts),
        ("next_attempt_at", d => d.NextAttemptAt), ("created_at", d => d.CreatedAt));

    private static readonly ColumnMap<AttemptRecord> AttemptColumns = new(
        ("id", r => r.Attempt.Id), ("delivery_id", r => r.Attempt.DeliveryId), ("webhook_id", r => r.Delivery.WebhookId),
        ("attempted_at", r => r.Attempt.AttemptedAt), ("status_code", r => r.Attempt.StatusCode), ("latency_ms", r => r.Attempt.LatencyMs),
        ("response_excerpt", r => r.Attempt.ResponseExcerpt), ("error", r => r.Attempt.Error));

    /// <summary>Queues deliveries in the caller's transaction, due at once.</summary>
    public static Task EnqueueAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Delivery> deliveries, CancellationToken cancellationToken) =>
        MultiRowStatement.InsertAsync(connection, transaction, "webhook_deliveries", DeliveryColumns, 50, deliveries, cancellationToken);

    /// <summary>Stores a one-off webhook.test event and its delivery to one endpoint.</summary>
    public Task<Delivery> EnqueueTestAsync(Webhook webhook, AppendedEvent test, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await EventLog.AppendAsync(connection, transaction, [test], cancellationToken);
            var delivery = WebhookFanOut.NewDelivery(webhook.Id, test);
            await EnqueueAsync(connection, transaction, [delivery], cancellationToken);
            return delivery;
        }, cancellationToken);

    /// <summary>
    /// Claims up to the wanted number of due deliveries of each endpoint, oldest due first, until <c>now + claimMs</c>;
    /// disabled endpoints get nothing. On PostgreSQL rows another node is claiming are skipped (FOR UPDATE SKIP
    /// LOCKED), so nodes share an endpoint's queue without waiting on each other; a claim that outlives a crashed node
    /// simply expires and the delivery is taken again.
    /// </summary>
    public Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(
        IReadOnlyList<(string WebhookId, int Count)> wanted, long now, long claimMs, CancellationToken cancellationToken) =>
        database.WriteRedoableAsync<IReadOnlyList<ClaimedDelivery>>(async (connection, transaction) =>
        {
            var webhooks = await webhookStore.FindEnabledAsync(connection, transaction, [.. wanted.Select(w => w.WebhookId)], cancellationToken);
            var claimed = new List<(Delivery Delivery, Webhook Webhook)>();
            foreach (var (webhookId, count) in wanted)
            {
                if (count > 0 && webhooks.TryGetValue(webhookId, out var webhook))
                {
                    var rows = await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
                        ClaimSql, new { webhookId, now, until = now + claimMs, take = count }, transaction, cancellationToken: cancellationToken));
                    claimed.AddRange(rows.OrderBy(r => r.Id, StringComparer.Ordinal).Select(r => (r.ToDelivery(), webhook)));
                }
            }

            var payloads = await events.PayloadsAsync(connection, transaction, [.. claimed.Select(c => c.Delivery.EventId).Distinct()], cancellationToken);
            return [.. claimed.Select(c => new ClaimedDelivery(c.Delivery, c.Webhook, payloads.GetValueOrDefault(c.Delivery.EventId) ?? "null", now + claimMs))];
        }, cancellationToken);

    /// <summary>
    /// One endpoint's due deliveries through <c>webhook_deliveries_ready</c>, the index of pending rows only, ordered by
    /// endpoint and due time; the scan reads just the rows it returns. A claim is the delivery made due again at the
    /// claim's end: claimed rows leave the due range (however many are in flight or waiting to be recorded), and if
    /// the node dies they come due by themselves.
    /// </summary>
    internal string ClaimSql => $"""
        UPDATE webhook_deliveries SET next_attempt_at = @until
        WHERE id IN (
            SELECT d.id FROM webhook_deliveries d
            WHERE d.webhook_id = @webhookId AND d.status = {Pending} AND d.next_attempt_at <= @now
            ORDER BY d.next_attempt_at LIMIT @take {database.Dialect.SkipLocked("d")})
        RETURNING {DeliveryColumns.List}
        """;

    /// <summary>Gives back claimed deliveries that were not sent (a node stopping), so they are due again at once.</summary>
    public Task ReleaseAsync(IReadOnlyCollection<string> ids, long now, CancellationToken cancellationToken) =>
        ids.Count == 0 ? Task.CompletedTask : database.WriteRedoableAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE webhook_deliveries SET next_attempt_at = @now WHERE {database.Dialect.InList("id", "ids")} AND status = {Pending}",
            new { ids = database.Dialect.List(ids), now }, transaction, cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>
    /// Records a batch of attempts in one transaction and moves each delivery on: succeeded, pending again at its next
    /// attempt, or failed (retries exhausted). Set-based: one insert for the attempts, one update per outcome (retries
    /// carry their own due time), and each endpoint's health once for the batch.
    /// </summary>
    public Task RecordAsync(IReadOnlyList<AttemptRecord> batch, long disableAfterMs, CancellationToken cancellationToken) =>
        batch.Count == 0 ? Task.CompletedTask : database.WriteRedoableAsync(async (connection, transaction) =>
        {
            var started = Stopwatch.GetTimestamp();
            var records = await OfEndpointsStillThereAsync(connection, transaction, batch, cancellationToken);
            await MultiRowStatement.InsertAsync(connection, transaction, "webhook_attempts", AttemptColumns, 50, records, cancellationToken);
            await FinishAsync(connection, transaction, DeliveryStatus.Succeeded, [.. records.Where(r => r.Succeeded)], cancellationToken);
            await FinishAsync(connection, transaction, DeliveryStatus.Failed, [.. records.Where(r => !r.Succeeded && r.NextAttemptAt is null)], cancellationToken);
            await RescheduleAsync(connection, transaction, [.. records.Where(r => !r.Succeeded && r.NextAttemptAt is not null)], cancellationToken);
            foreach (var endpoint in records.OrderBy(r => r.Attempt.AttemptedAt).GroupBy(r => r.Delivery.WebhookId, StringComparer.Ordinal))
            {
                await WebhookStore.RecordHealthAsync(connection, transaction, endpoint.Key, [.. endpoint], disableAfterMs, cancellationToken);
            }

            _recordBudget.Held(Stopwatch.GetElapsedTime(started), records.Count);
            return records.Count;
        }, cancellationToken);

    /// <summary>
    /// The attempts whose endpoint still exists, their endpoints' rows locked first, in id order. Recording ends with
    /// each endpoint's health; were that the first lock it took, a deletion of the endpoint (its row first, then its
    /// deliveries by cascade) could meet it in the opposite order and one of the two would fail as a deadlock.
    /// </summary>
    private async Task<IReadOnlyList<AttemptRecord>> OfEndpointsStillThereAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<AttemptRecord> records, CancellationToken cancellationToken)
    {
        var ids = records.Select(r => r.Delivery.WebhookId).Distinct(StringComparer.Ordinal).ToList();
        var there = (await connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT id FROM webhooks WHERE {database.Dialect.InList("id", "ids")} ORDER BY id {database.Dialect.LockedForUpdate}",
            new { ids = database.Dialect.List(ids) }, transaction, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        return there.Count == ids.Count ? records : [.. records.Where(r => there.Contains(r.Delivery.WebhookId))];
    }

    /// <summary>
    /// How many attempts the next <see cref="RecordAsync"/> should take, at most <paramref name="limit"/>: while the API
    /// writes, what is recorded within <see cref="WriteBudget.Budget"/>, so an API write waits little behind it (SQLite).
    /// </summary>
    public int RecordBatchSize(int limit) => _recordBudget.Size(limit);

    private async Task FinishAsync(DbConnection connection, DbTransaction transaction, DeliveryStatus status, IReadOnlyList<AttemptRecord> records, CancellationToken cancellationToken)
    {
        foreach (var chunk in records.Chunk(RowsPerStatement))
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = NULL
                WHERE {database.Dialect.InList("id", "ids")}
                """, new { status = status.ToStorage(), ids = database.Dialect.List(chunk.Select(r => r.Delivery.Id)) }, transaction, cancellationToken: cancellationToken));
        }
    }

    /// <summary>
    /// Failed attempts with a retry left: pending again, each at its own time. The rows are read as a table of (id, due
    /// time): one prepared statement per row on SQLite, two arrays for them all on PostgreSQL.
    /// </summary>
    private static Task RescheduleAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AttemptRecord> records, CancellationToken cancellationToken) =>
        MultiRowStatement.ExecuteAsync(connection, transaction,
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = v.column2 FROM (VALUES ",
            ") AS v WHERE webhook_deliveries.id = v.column1", 2, 1, records,
            static (record, values) =>
            {
                values[0] = record.Delivery.Id;
                values[1] = record.NextAttemptAt!.Value;
            }, cancellationToken);

    /// <summary>Makes a delivery due now again, whatever its state (a manual retry).</summary>
    public async Task<bool> RetryNowAsync(string workspaceId, string webhookId, string deliveryId, long now, CancellationToken cancellationToken) =>
        await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            $"""
            UPDATE webhook_deliveries SET status = {Pending}, next_attempt_at = @now
            WHERE id = @deliveryId AND webhook_id = @webhookId AND workspace_id = @workspaceId
            """, new { now, deliveryId, webhookId, workspaceId }, transaction, cancellationToken: cancellationToken)), cancellationToken) == 1;

    /// <summary>An endpoint's deliveries, newest first, each with its attempts.</summary>
    public async Task<IReadOnlyList<(Delivery Delivery, IReadOnlyList<DeliveryAttempt> Attempts)>> ListAsync(
        string webhookId, DeliveryStatus? status, string? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            $"""
            SELECT {DeliveryColumns.List} FROM webhook_deliveries WHERE webhook_id = @webhookId
            {(status is null ? "" : "AND status = @status")} {(before is null ? "" : "AND id < @before")}
            ORDER BY id DESC LIMIT @limit
            """, new { webhookId, status = status?.ToStorage(), before, limit }, cancellationToken: cancellationToken))).ToList();
        var attempts = (await AttemptsAsync(connection, [.. rows.Select(r => r.Id)], cancellationToken)).ToLookup(a => a.DeliveryId);
        return [.. rows.Select(r => (r.ToDelivery(attempts[r.Id]), (IReadOnlyList<DeliveryAttempt>)[.. attempts[r.Id]]))];
    }

    /// <summary>One delivery with its attempts and the exact payload.</summary>
    public async Task<(Delivery Delivery, string Payload, IReadOnlyList<DeliveryAttempt> Attempts)?> FindAsync(
        string webhookId, string deliveryId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<DeliveryRow>(new CommandDefinition(
            $"SELECT {DeliveryColumns.List} FROM webhook_deliveries WHERE id = @deliveryId AND webhook_id = @webhookId",
            new { deliveryId, webhookId }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        var payloads = await events.PayloadsAsync(connection, null, [row.EventId], cancellationToken);
        var attempts = await AttemptsAsync(connection, [deliveryId], cancellationToken);
        return (row.ToDelivery(attempts), payloads.GetValueOrDefault(row.EventId) ?? "null", attempts);
    }

    private async Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(DbConnection connection, IReadOnlyCollection<string> deliveryIds, CancellationToken cancellationToken)
    {
        if (deliveryIds.Count == 0)
        {
            return [];
        }

        var rows = await connection.QueryAsync<AttemptRow>(new CommandDefinition(
            $"""
            SELECT id, delivery_id, attempted_at, status_code, latency_ms, response_excerpt, error FROM webhook_attempts
            WHERE {database.Dialect.InList("delivery_id", "ids")} ORDER BY id
            """, new { ids = database.Dialect.List(deliveryIds) }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new DeliveryAttempt(r.Id, r.DeliveryId, r.AttemptedAt, r.StatusCode, r.LatencyMs, r.ResponseExcerpt, r.Error))];
    }

    /// <summary>
    /// Deletes finished deliveries older than the cutoff (their attempts go with them), a batch per transaction.
    /// Pending ones stay, however old.
    /// </summary>
    public Task<int> PurgeOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        BatchedDelete.BelowAsync(database, "webhook_deliveries", Ids.LowerBound("dlv", cutoffMs), $"status <> {Pending}", cancellationToken);

    /// <summary>An endpoint's backlog: pending and due deliveries, the oldest pending one, and the last minute's outcomes.</summary>
    public async Task<DeliveryBacklog> BacklogAsync(string webhookId, long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var queue = await connection.QuerySingleAsync<(long Pending, long? Due, long? Oldest)>(new CommandDefinition(
            $"""
            SELECT COUNT(*), SUM(CASE WHEN next_attempt_at <= @now THEN 1 ELSE 0 END), MIN(created_at)
            FROM webhook_deliveries WHERE webhook_id = @webhookId AND status = {Pending}
            """, new { webhookId, now }, cancellationToken: cancellationToken));
        var recent = await connection.QuerySingleAsync<(long? Succeeded, long? Failed)>(new CommandDefinition(
            """
            SELECT SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END), SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 0 ELSE 1 END)
            FROM webhook_attempts WHERE webhook_id = @webhookId AND attempted_at > @since
            """, new { webhookId, since = now - 60_000 }, cancellationToken: cancellationToken));
        return new DeliveryBacklog(webhookId, queue.Pending, queue.Due ?? 0, queue.Oldest, recent.Succeeded ?? 0, recent.Failed ?? 0);
    }

    /// <summary>Every endpoint's pending deliveries and the oldest of them (the last minute's outcomes are left at 0).</summary>
    public async Task<IReadOnlyList<DeliveryBacklog>> BacklogsAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string WebhookId, long Pending, long? Due, long? Oldest)>(new CommandDefinition(
            $"""
            SELECT webhook_id, COUNT(*), SUM(CASE WHEN next_attempt_at <= @now THEN 1 ELSE 0 END), MIN(created_at)
            FROM webhook_deliveries WHERE status = {Pending} GROUP BY webhook_id
            """, new { now }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new DeliveryBacklog(r.WebhookId, r.Pending, r.Due ?? 0, r.Oldest, 0, 0))];
    }

    private sealed class DeliveryRow
    {
        public string Id { get; set; } = "";
        public string WebhookId { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string EventId { get; set; } = "";
        public string EventType { get; set; } = "";
        public string Status { get; set; } = "";
        public int Attempts { get; set; }
        public long? NextAttemptAt { get; set; }
        public long CreatedAt { get; set; }

        /// <summary>The delivery, its last attempt's outcome taken from the attempt log.</summary>
        public Delivery ToDelivery(IEnumerable<DeliveryAttempt>? attempts = null)
        {
            var last = attempts?.LastOrDefault();
            return new()
            {
                Id = Id,
                WebhookId = WebhookId,
                WorkspaceId = WorkspaceId,
                EventId = EventId,
                EventType = EventType,
                Status = DeliveryStatuses.Parse(Status) ?? DeliveryStatus.Pending,
                Attempts = Attempts,
                NextAttemptAt = NextAttemptAt,
                LastAttemptAt = last?.AttemptedAt,
                LastStatusCode = last?.StatusCode,
                LastError = last?.Error,
                CreatedAt = CreatedAt,
            };
        }
    }

    private sealed class AttemptRow
    {
        public string Id { get; set; } = "";
        public string DeliveryId { get; set; } = "";
        public long AttemptedAt { get; set; }
        public int? StatusCode { get; set; }
        public int LatencyMs { get; set; }
        public string? ResponseExcerpt { get; set; }
        public string? Error { get; set; }
    }
}
