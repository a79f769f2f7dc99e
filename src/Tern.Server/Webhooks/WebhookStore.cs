using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

/// <summary>A subscription as fan-out needs it.</summary>
public sealed record Subscription(string Id, IReadOnlyList<string> Events, IReadOnlyList<string>? Tags, IReadOnlyList<string>? LinkIds, bool IncludeBots)
{
    public bool Wants(string type, string? linkId, IReadOnlyList<string> tags, bool isBot) =>
        Events.Contains(type, StringComparer.Ordinal)
        && (!isBot || IncludeBots)
        && (Tags is null || Tags.Any(t => tags.Contains(t, StringComparer.Ordinal)))
        && (LinkIds is null || (linkId is not null && LinkIds.Contains(linkId, StringComparer.Ordinal)));
}

/// <summary>The <c>webhooks</c> table: subscriptions, their secrets and their health; changes clear <paramref name="subscribedTypes"/> when given.</summary>
public sealed class WebhookStore(Database database, WebhookSecrets secrets, SubscribedEventTypes? subscribedTypes = null)
{
    private const string Columns =
        "id, workspace_id, url, events, description, filter_tags, filter_link_ids, include_bots, enabled, disabled_reason, secret, " +
        "previous_secret, previous_secret_expires_at, failing_since, last_success_at, created_at, updated_at";

    public Task InsertAsync(Webhook webhook, CancellationToken cancellationToken) =>
        database.WriteClearingAsync(subscribedTypes, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO webhooks ({Columns})
            VALUES (@Id, @WorkspaceId, @Url, @Events, @Description, @FilterTags, @FilterLinkIds, @IncludeBots, @Enabled, @DisabledReason, @Secret,
                    @PreviousSecret, @PreviousSecretExpiresAt, @FailingSince, @LastSuccessAt, @CreatedAt, @UpdatedAt)
            """, WebhookRow.From(webhook, secrets), transaction, cancellationToken: cancellationToken)), cancellationToken);

    public Task UpdateAsync(Webhook webhook, CancellationToken cancellationToken) =>
        database.WriteClearingAsync(subscribedTypes, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE webhooks SET url = @Url, events = @Events, description = @Description, filter_tags = @FilterTags,
                filter_link_ids = @FilterLinkIds, include_bots = @IncludeBots, enabled = @Enabled, disabled_reason = @DisabledReason,
                secret = @Secret, previous_secret = @PreviousSecret, previous_secret_expires_at = @PreviousSecretExpiresAt,
                failing_since = @FailingSince, updated_at = @UpdatedAt
            WHERE id = @Id AND workspace_id = @WorkspaceId
            """, WebhookRow.From(webhook, secrets), transaction, cancellationToken: cancellationToken)), cancellationToken);

    public async Task<bool> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        await database.WriteClearingAsync(subscribedTypes, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM webhooks WHERE id = @id AND workspace_id = @workspaceId", new { id, workspaceId }, transaction,
            cancellationToken: cancellationToken)), cancellationToken) == 1;

    public async Task<Webhook?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {Columns} FROM webhooks WHERE id = @id AND workspace_id = @workspaceId",
            new { id, workspaceId }, cancellationToken: cancellationToken)))?.ToWebhook(secrets);
    }

    public async Task<IReadOnlyList<Webhook>> ListAsync(string workspaceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {Columns} FROM webhooks WHERE workspace_id = @workspaceId ORDER BY id DESC",
            new { workspaceId }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToWebhook(secrets))];
    }

    /// <summary>The ids of every enabled endpoint, in every workspace: the queues a dispatcher serves.</summary>
    public async Task<IReadOnlyList<string>> EnabledIdsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT id FROM webhooks WHERE enabled = @enabled", new { enabled = true }, cancellationToken: cancellationToken))];
    }

    /// <summary>These endpoints as they are now, the enabled ones only, read in the caller's transaction.</summary>
    public async Task<Dictionary<string, Webhook>> FindEnabledAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<WebhookRow>(new CommandDefinition(
            $"SELECT {Columns} FROM webhooks WHERE {database.Dialect.InList("id", "ids")} AND enabled = @enabled",
            new { ids = database.Dialect.List(ids), enabled = true }, transaction, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.Id, r => r.ToWebhook(secrets), StringComparer.Ordinal);
    }

    /// <summary>
    /// The enabled subscriptions of a workspace, read inside the transaction and kept from deletion until it ends: the
    /// deliveries it then inserts refer to endpoints that exist. (Unlocked, an endpoint whose deletion had not committed
    /// was read, and the insert's foreign key check waited for that deletion, possibly long with a large backlog to
    /// cascade, and then failed the whole transaction.)
    /// </summary>
    public static async Task<IReadOnlyList<Subscription>> SubscriptionsAsync(
        DbConnection connection, DbTransaction transaction, SqlDialect dialect, string workspaceId, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string Id, string Events, string? FilterTags, string? FilterLinkIds, bool IncludeBots)>(
            new CommandDefinition(
                $"""
                SELECT id, events, filter_tags, filter_link_ids, include_bots FROM webhooks WHERE workspace_id = @workspaceId AND enabled = @enabled
                {dialect.LockedAgainstDeletion}
                """,
                new { workspaceId, enabled = true }, transaction, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new Subscription(r.Id, ParseList(r.Events) ?? [], ParseList(r.FilterTags), ParseList(r.FilterLinkIds), r.IncludeBots))];
    }

    /// <summary>
    /// Keeps an endpoint's health after a batch of its attempts: the latest success clears its failing streak; a
    /// failure after it starts one, and a streak older than <paramref name="disableAfterMs"/> without success
    /// disables the endpoint, saying why.
    /// </summary>
    public static async Task RecordHealthAsync(
        DbConnection connection, DbTransaction transaction, string webhookId, IReadOnlyList<AttemptRecord> attempts, long disableAfterMs,
        CancellationToken cancellationToken)
    {
        var lastSuccess = attempts.LastOrDefault(r => r.Succeeded);
        var failures = attempts.SkipWhile(r => lastSuccess is not null && r != lastSuccess).Where(r => !r.Succeeded).ToList();
        if (lastSuccess is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE webhooks SET last_success_at = @at, failing_since = @failingSince WHERE id = @webhookId",
                new { at = lastSuccess.Attempt.AttemptedAt, failingSince = failures.FirstOrDefault()?.Attempt.AttemptedAt, webhookId },
                transaction, cancellationToken: cancellationToken));
        }
        else
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE webhooks SET failing_since = COALESCE(failing_since, @at) WHERE id = @webhookId",
                new { at = failures[0].Attempt.AttemptedAt, webhookId }, transaction, cancellationToken: cancellationToken));
        }

        if (failures.Count == 0)
        {
            return;
        }

        var last = failures[^1].Attempt;
        var reason = $"Disabled at {DateTimeOffset.FromUnixTimeMilliseconds(last.AttemptedAt):u}: no successful delivery for more than " +
            $"{TimeSpan.FromMilliseconds(disableAfterMs).TotalDays:0.###} days; last error: {last.Error ?? $"HTTP {last.StatusCode}"}";
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE webhooks SET enabled = @disabled, disabled_reason = @reason WHERE id = @webhookId AND enabled = @enabled AND failing_since <= @cutoff",
            new { disabled = false, enabled = true, reason, webhookId, cutoff = last.AttemptedAt - disableAfterMs },
            transaction, cancellationToken: cancellationToken));
    }

    private static IReadOnlyList<string>? ParseList(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, WebhookJsonContext.Default.IReadOnlyListString);

    private static string? FormatList(IReadOnlyList<string>? list) =>
        list is null ? null : JsonSerializer.Serialize(list, WebhookJsonContext.Default.IReadOnlyListString);

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

        public static WebhookRow From(Webhook w, WebhookSecrets secrets) => new()
        {
            Id = w.Id,
            WorkspaceId = w.WorkspaceId,
            Url = w.Url,
            Events = FormatList(w.Events)!,
            Description = w.Description,
            FilterTags = FormatList(w.FilterTags),
            FilterLinkIds = FormatList(w.FilterLinkIds),
            IncludeBots = w.IncludeBots,
            Enabled = w.Enabled,
            DisabledReason = w.DisabledReason,
            Secret = secrets.Protect(w.Secret),
            PreviousSecret = w.PreviousSecret is null ? null : secrets.Protect(w.PreviousSecret),
            PreviousSecretExpiresAt = w.PreviousSecretExpiresAt,
            FailingSince = w.FailingSince,
            LastSuccessAt = w.LastSuccessAt,
            CreatedAt = w.CreatedAt,
            UpdatedAt = w.UpdatedAt,
        };

        public Webhook ToWebhook(WebhookSecrets secrets) => new()
        {
            Id = Id,
            WorkspaceId = WorkspaceId,
            Url = Url,
            Events = ParseList(Events) ?? [],
            Description = Description,
            FilterTags = ParseList(FilterTags),
            FilterLinkIds = ParseList(FilterLinkIds),
            IncludeBots = IncludeBots,
            Enabled = Enabled,
            DisabledReason = DisabledReason,
            Secret = secrets.Unprotect(Secret),
            PreviousSecret = PreviousSecret is null ? null : secrets.Unprotect(PreviousSecret),
            PreviousSecretExpiresAt = PreviousSecretExpiresAt,
            FailingSince = FailingSince,
            LastSuccessAt = LastSuccessAt,
            CreatedAt = CreatedAt,
            UpdatedAt = UpdatedAt,
        };
    }
}

[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
