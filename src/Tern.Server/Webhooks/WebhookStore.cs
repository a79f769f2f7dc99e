using System.Data.Common;
using Dapper;
using Tern.Server.Events;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

public sealed record Webhook
{
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }
    public required string Url { get; init; }
    public required IReadOnlyList<string> Events { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<string>? FilterTags { get; init; }
    public IReadOnlyList<string>? FilterLinkIds { get; init; }
    public bool IncludeBots { get; init; }
    public bool Enabled { get; init; } = true;
    public string? DisabledReason { get; init; }
    public required string Secret { get; init; }
    public string? PreviousSecret { get; init; }
    public long? PreviousSecretExpiresAt { get; init; }
    public long? FailingSince { get; init; }
    public long? LastSuccessAt { get; init; }
    public required long CreatedAt { get; init; }
    public required long UpdatedAt { get; init; }

    /// <summary>The secrets that sign a request at this instant: the current one, and the previous one during its overlap.</summary>
    public IReadOnlyList<string> SigningSecrets(long now) =>
        PreviousSecret is not null && PreviousSecretExpiresAt > now ? [Secret, PreviousSecret] : [Secret];
}

public sealed record Delivery
{
    public required string Id { get; init; }
    public required string WebhookId { get; init; }
    public required string WorkspaceId { get; init; }
    public required string EventId { get; init; }
    public required string EventType { get; init; }
    public required string Status { get; init; }
    public required int Attempts { get; init; }
    public long? NextAttemptAt { get; init; }
    public long? LastAttemptAt { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public required long CreatedAt { get; init; }
}

public sealed record DeliveryAttempt(string Id, string DeliveryId, long AttemptedAt, int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error);

/// <summary>A claimed delivery with what sending it needs: the endpoint, its secrets and the exact payload.</summary>
public sealed record ClaimedDelivery(Delivery Delivery, Webhook Webhook, string Payload);

/// <summary>An attempt to record, and where it leaves its delivery: succeeded, pending again at <c>NextAttemptAt</c>, or failed.</summary>
public sealed record AttemptRecord(DeliveryAttempt Attempt, Delivery Delivery, bool Succeeded, long? NextAttemptAt);

/// <summary>Subscriptions, deliveries and attempts in storage.</summary>
public sealed class WebhookStore(Database database)
{
    private const string WebhookColumns =
        "id, workspace_id, url, events, description, filter_tags, filter_link_ids, include_bots, enabled, disabled_reason, secret, " +
        "previous_secret, previous_secret_expires_at, failing_since, last_success_at, created_at, updated_at";

    private const string DeliveryColumns =
        "id, webhook_id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at";

    public Task InsertAsync(Webhook webhook, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO webhooks ({WebhookColumns})
            VALUES (@Id, @WorkspaceId, @Url, @Events, @Description, @FilterTags, @FilterLinkIds, @IncludeBots, @Enabled, @DisabledReason, @Secret,
                    @PreviousSecret, @PreviousSecretExpiresAt, @FailingSince, @LastSuccessAt, @CreatedAt, @UpdatedAt)
            """, WebhookRow.From(webhook), transaction, cancellationToken: cancellationToken)), cancellationToken);

    public Task UpdateAsync(Webhook webhook, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE webhooks SET url = @Url, events = @Events, description = @Description, filter_tags = @FilterTags,
                filter_link_ids = @FilterLinkIds, include_bots = @IncludeBots, enabled = @Enabled, disabled_reason = @DisabledReason,
                secret = @Secret, previous_secret = @PreviousSecret, previous_secret_expires_at = @PreviousSecretExpiresAt,
                failing_since = @FailingSince, updated_at = @UpdatedAt
            WHERE id = @Id AND workspace_id = @WorkspaceId
            """, WebhookRow.From(webhook), transaction, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<bool> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM webhooks WHERE id = @id AND workspace_id = @workspaceId", new { id, workspaceId }, transaction,
            cancellationToken: cancellationToken)), cancellationToken) == 1;

    public async Task<Webhook?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {WebhookColumns} FROM webhooks WHERE id = @id AND workspace_id = @workspaceId",
            new { id, workspaceId }, cancellationToken: cancellationToken)))?.ToWebhook();
    }

    public async Task<IReadOnlyList<Webhook>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {WebhookColumns} FROM webhooks WHERE workspace_id = @workspaceId ORDER BY id DESC",
            new { workspaceId }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToWebhook())];
    }

    /// <summary>Creates a one-off webhook.test event (kept out of the event log listing) and its delivery to one endpoint.</summary>
    public Task<Delivery> InsertTestDeliveryAsync(Webhook webhook, string eventId, string payload, string deliveryId, long now, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO events (id, workspace_id, type, link_id, payload, created_at) VALUES (@eventId, @WorkspaceId, @type, NULL, @payload, @now)",
                new { eventId, webhook.WorkspaceId, type = EventTypes.WebhookTest, payload, now }, transaction, cancellationToken: cancellationToken));
            var delivery = new Delivery
            {
                Id = deliveryId,
                WebhookId = webhook.Id,
                WorkspaceId = webhook.WorkspaceId,
                EventId = eventId,
                EventType = EventTypes.WebhookTest,
                Status = "pending",
                Attempts = 0,
                NextAttemptAt = now,
                CreatedAt = now,
            };
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
                VALUES (@Id, @WebhookId, @WorkspaceId, @EventId, @EventType, @Status, 0, @NextAttemptAt, @CreatedAt)
                """, delivery, transaction, cancellationToken: cancellationToken));
            return delivery;
        }, cancellationToken);

    /// <summary>
    /// Claims due deliveries of enabled endpoints for <paramref name="claimMs"/>, skipping endpoints in
    /// <paramref name="busy"/> and taking no more of an endpoint's than <paramref name="slotsFor"/> says it has room
    /// for. On PostgreSQL rows another node is claiming are skipped (FOR UPDATE SKIP LOCKED),
    /// so nodes share the work; a claim that outlives a crashed node simply expires and the delivery is taken again.
    /// </summary>
    public Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(
        long now, long claimMs, int limit, IReadOnlyCollection<string> busy, Func<string, int> slotsFor, CancellationToken cancellationToken) =>
        database.WriteAsync<IReadOnlyList<ClaimedDelivery>>(async (connection, transaction) =>
        {
            var dialect = database.Dialect;
            var due = await connection.QueryAsync<(string Id, string WebhookId)>(new CommandDefinition(
                $"""
                SELECT d.id, d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND (d.claimed_until IS NULL OR d.claimed_until < @now)
                  AND w.enabled = @enabled AND NOT ({dialect.InList("d.webhook_id", "busy")})
                ORDER BY d.next_attempt_at LIMIT @limit {dialect.SkipLocked("d")}
                """,
                new { now, limit, enabled = true, busy = busy.ToArray() }, transaction, cancellationToken: cancellationToken));

            // Only as many per endpoint as it has free slots: the rest stay unclaimed, for the next round or another node.
            var taken = new Dictionary<string, int>(StringComparer.Ordinal);
            var ids = new List<string>();
            foreach (var (id, webhookId) in due)
            {
                var count = taken.GetValueOrDefault(webhookId);
                if (count < slotsFor(webhookId))
                {
                    taken[webhookId] = count + 1;
                    ids.Add(id);
                }
            }

            if (ids.Count == 0)
            {
                return [];
            }

            await connection.ExecuteAsync(new CommandDefinition(
                $"UPDATE webhook_deliveries SET claimed_until = @until WHERE {dialect.InList("id", "ids")}",
                new { until = now + claimMs, ids }, transaction, cancellationToken: cancellationToken));
            var deliveries = (await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
                $"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE {dialect.InList("id", "ids")}",
                new { ids }, transaction, cancellationToken: cancellationToken))).Select(r => r.ToDelivery()).ToList();
            var webhookIds = deliveries.Select(d => d.WebhookId).Distinct().ToArray();
            var webhooks = (await connection.QueryAsync<WebhookRow>(new CommandDefinition(
                $"SELECT {WebhookColumns} FROM webhooks WHERE {dialect.InList("id", "webhookIds")}",
                new { webhookIds }, transaction, cancellationToken: cancellationToken))).ToDictionary(r => r.Id, r => r.ToWebhook());
            var eventIds = deliveries.Select(d => d.EventId).Distinct().ToArray();
            var payloads = (await connection.QueryAsync<(string Id, string Payload)>(new CommandDefinition(
                $"SELECT id, payload FROM events WHERE {dialect.InList("id", "eventIds")}",
                new { eventIds }, transaction, cancellationToken: cancellationToken))).ToDictionary(r => r.Id, r => r.Payload);
            var rows = deliveries.Select(d => new ClaimedDelivery(d, webhooks[d.WebhookId], payloads.GetValueOrDefault(d.EventId) ?? "null"));
            return [.. rows];
        }, cancellationToken);

    /// <summary>
    /// Records an attempt and moves the delivery on: succeeded, pending again at <paramref name="nextAttemptAt"/>,
    /// or failed (null). Keeps the endpoint's health: a success clears its failing streak; a failure starts one,
    /// and a streak older than <paramref name="disableAfterMs"/> without success disables the endpoint, saying why.
    /// </summary>
    public Task RecordAttemptAsync(DeliveryAttempt attempt, Delivery delivery, bool succeeded, long? nextAttemptAt, long disableAfterMs, CancellationToken cancellationToken) =>
        RecordAttemptsAsync([new AttemptRecord(attempt, delivery, succeeded, nextAttemptAt)], disableAfterMs, cancellationToken);

    /// <summary>Records several attempts in one transaction (see <see cref="RecordAttemptAsync"/>).</summary>
    public Task RecordAttemptsAsync(IReadOnlyList<AttemptRecord> records, long disableAfterMs, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            foreach (var (attempt, delivery, succeeded, nextAttemptAt) in records)
            {
                await RecordAsync(connection, transaction, attempt, delivery, succeeded, nextAttemptAt, disableAfterMs, cancellationToken);
            }

            return true;
        }, cancellationToken);

    private static async Task RecordAsync(
        System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, DeliveryAttempt attempt, Delivery delivery,
        bool succeeded, long? nextAttemptAt, long disableAfterMs, CancellationToken cancellationToken)
    {
        await connection.ExecuteAsync(new CommandDefinition(
            """
                INSERT INTO webhook_attempts (id, delivery_id, webhook_id, attempted_at, status_code, latency_ms, response_excerpt, error)
                VALUES (@Id, @DeliveryId, @webhookId, @AttemptedAt, @StatusCode, @LatencyMs, @ResponseExcerpt, @Error)
                """,
            new { attempt.Id, attempt.DeliveryId, webhookId = delivery.WebhookId, attempt.AttemptedAt, attempt.StatusCode, attempt.LatencyMs, attempt.ResponseExcerpt, attempt.Error },
            transaction, cancellationToken: cancellationToken));
        var status = succeeded ? "succeeded" : nextAttemptAt is null ? "failed" : "pending";
        await connection.ExecuteAsync(new CommandDefinition(
            """
                UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = @nextAttemptAt, claimed_until = NULL,
                    last_attempt_at = @AttemptedAt, last_status_code = @StatusCode, last_error = @Error
                WHERE id = @id
                """,
            new { status, nextAttemptAt = succeeded ? null : nextAttemptAt, attempt.AttemptedAt, attempt.StatusCode, attempt.Error, id = delivery.Id },
            transaction, cancellationToken: cancellationToken));
        if (succeeded)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE webhooks SET last_success_at = @at, failing_since = NULL WHERE id = @id",
                new { at = attempt.AttemptedAt, id = delivery.WebhookId }, transaction, cancellationToken: cancellationToken));
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, @at) WHERE id = @id",
            new { at = attempt.AttemptedAt, id = delivery.WebhookId }, transaction, cancellationToken: cancellationToken));
        var reason = $"Disabled at {DateTimeOffset.FromUnixTimeMilliseconds(attempt.AttemptedAt):u}: no successful delivery for more than " +
            $"{TimeSpan.FromMilliseconds(disableAfterMs).TotalDays:0.###} days; last error: {attempt.Error ?? $"HTTP {attempt.StatusCode}"}";
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE webhooks SET enabled = @disabled, disabled_reason = @reason WHERE id = @id AND enabled = @enabled AND failing_since <= @cutoff",
            new { disabled = false, enabled = true, reason, id = delivery.WebhookId, cutoff = attempt.AttemptedAt - disableAfterMs },
            transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Makes a delivery due now again, whatever its state (a manual retry).</summary>
    public async Task<bool> RetryNowAsync(string workspaceId, string webhookId, string deliveryId, long now, CancellationToken cancellationToken) =>
        await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = @now, claimed_until = NULL
            WHERE id = @deliveryId AND webhook_id = @webhookId AND workspace_id = @workspaceId
            """, new { now, deliveryId, webhookId, workspaceId }, transaction, cancellationToken: cancellationToken)), cancellationToken) == 1;

    public async Task<IReadOnlyList<Delivery>> ListDeliveriesAsync(
        string webhookId, string? status, string? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<DeliveryRow>(new CommandDefinition(
            $"""
            SELECT {DeliveryColumns} FROM webhook_deliveries WHERE webhook_id = @webhookId
            {(status is null ? "" : "AND status = @status")} {(before is null ? "" : "AND id < @before")}
            ORDER BY id DESC LIMIT @limit
            """, new { webhookId, status, before, limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToDelivery())];
    }

    public async Task<(Delivery Delivery, string Payload, IReadOnlyList<DeliveryAttempt> Attempts)?> FindDeliveryAsync(
        string webhookId, string deliveryId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var delivery = await connection.QuerySingleOrDefaultAsync<DeliveryRow>(new CommandDefinition(
            $"SELECT {DeliveryColumns} FROM webhook_deliveries WHERE id = @deliveryId AND webhook_id = @webhookId",
            new { deliveryId, webhookId }, cancellationToken: cancellationToken));
        if (delivery is null)
        {
            return null;
        }

        var payload = await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT payload FROM events WHERE id = @EventId", new { delivery.EventId }, cancellationToken: cancellationToken));
        return (delivery.ToDelivery(), payload ?? "null", await AttemptsAsync(connection, [deliveryId], cancellationToken));
    }

    public async Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(IReadOnlyCollection<string> deliveryIds, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await AttemptsAsync(connection, deliveryIds, cancellationToken);
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
            """, new { ids = deliveryIds.ToArray() }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new DeliveryAttempt(r.Id, r.DeliveryId, r.AttemptedAt, r.StatusCode, r.LatencyMs, r.ResponseExcerpt, r.Error))];
    }

    /// <summary>Deletes deliveries (with their attempts) and events older than the cutoff.</summary>
    public Task PurgeOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM webhook_attempts WHERE attempted_at < @cutoffMs", new { cutoffMs }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM webhook_deliveries WHERE created_at < @cutoffMs AND status <> 'pending'", new { cutoffMs }, transaction, cancellationToken: cancellationToken));
            return await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM events WHERE created_at < @cutoffMs AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)",
                new { cutoffMs }, transaction, cancellationToken: cancellationToken));
        }, cancellationToken);

    private sealed class WebhookRow
    {
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string Url { get; set; } = "";
        public string Events { get; set; } = "[]";
        public string? Description { get; set; }
        public string? FilterTags { get; set; }
        public string? FilterLinkIds { get; set; }
        public bool IncludeBots { get; set; }
        public bool Enabled { get; set; }
        public string? DisabledReason { get; set; }
        public string Secret { get; set; } = "";
        public string? PreviousSecret { get; set; }
        public long? PreviousSecretExpiresAt { get; set; }
        public long? FailingSince { get; set; }
        public long? LastSuccessAt { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }

        public static WebhookRow From(Webhook w) => new()
        {
            Id = w.Id,
            WorkspaceId = w.WorkspaceId,
            Url = w.Url,
            Events = EventOutbox.FormatList(w.Events)!,
            Description = w.Description,
            FilterTags = EventOutbox.FormatList(w.FilterTags),
            FilterLinkIds = EventOutbox.FormatList(w.FilterLinkIds),
            IncludeBots = w.IncludeBots,
            Enabled = w.Enabled,
            DisabledReason = w.DisabledReason,
            Secret = w.Secret,
            PreviousSecret = w.PreviousSecret,
            PreviousSecretExpiresAt = w.PreviousSecretExpiresAt,
            FailingSince = w.FailingSince,
            LastSuccessAt = w.LastSuccessAt,
            CreatedAt = w.CreatedAt,
            UpdatedAt = w.UpdatedAt,
        };

        public Webhook ToWebhook() => new()
        {
            Id = Id,
            WorkspaceId = WorkspaceId,
            Url = Url,
            Events = EventOutbox.ParseList(Events) ?? [],
            Description = Description,
            FilterTags = EventOutbox.ParseList(FilterTags),
            FilterLinkIds = EventOutbox.ParseList(FilterLinkIds),
            IncludeBots = IncludeBots,
            Enabled = Enabled,
            DisabledReason = DisabledReason,
            Secret = Secret,
            PreviousSecret = PreviousSecret,
            PreviousSecretExpiresAt = PreviousSecretExpiresAt,
            FailingSince = FailingSince,
            LastSuccessAt = LastSuccessAt,
            CreatedAt = CreatedAt,
            UpdatedAt = UpdatedAt,
        };
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
        public long? LastAttemptAt { get; set; }
        public int? LastStatusCode { get; set; }
        public string? LastError { get; set; }
        public long CreatedAt { get; set; }

        public Delivery ToDelivery() => new()
        {
            Id = Id,
            WebhookId = WebhookId,
            WorkspaceId = WorkspaceId,
            EventId = EventId,
            EventType = EventType,
            Status = Status,
            Attempts = Attempts,
            NextAttemptAt = NextAttemptAt,
            LastAttemptAt = LastAttemptAt,
            LastStatusCode = LastStatusCode,
            LastError = LastError,
            CreatedAt = CreatedAt,
        };
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
