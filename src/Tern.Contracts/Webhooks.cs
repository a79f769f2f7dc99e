using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>An event as stored and sent: <c>{ id, type, timestamp, data: { link, click? } }</c>.</summary>
public sealed record EventEnvelope
{
    public required string Id { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required EventData Data { get; init; }
}

public sealed record EventData
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LinkResponse? Link { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ClickResponse? Click { get; init; }
}

/// <summary>Which links' events a subscription receives; absent lists mean every link.</summary>
public sealed record WebhookFilter
{
    public IReadOnlyList<string>? Tags { get; init; }
    public IReadOnlyList<string>? LinkIds { get; init; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateWebhookRequest
{
    public string? Url { get; init; }
    public IReadOnlyList<string>? Events { get; init; }
    public string? Description { get; init; }
    public WebhookFilter? Filter { get; init; }
    /// <summary>Default false: clicks by bots and link-preview fetchers are not sent.</summary>
    public bool? IncludeBots { get; init; }
}

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateWebhookRequest
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Url { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<IReadOnlyList<string>?> Events { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Description { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<WebhookFilter?> Filter { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<bool?> IncludeBots { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<bool?> Enabled { get; init; }
}

public sealed record WebhookResponse
{
    public required string Id { get; init; }
    public required string Url { get; init; }
    public required IReadOnlyList<string> Events { get; init; }
    public string? Description { get; init; }
    public WebhookFilter? Filter { get; init; }
    public required bool IncludeBots { get; init; }
    public required bool Enabled { get; init; }
    /// <summary>Why Tern disabled the subscription (for example after days of failures); null when enabled.</summary>
    public string? DisabledReason { get; init; }
    /// <summary>The signing secret: shown when the subscription is created and when it is rotated.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Secret { get; init; }
    /// <summary>True on a replay (same <c>Idempotency-Key</c>) of a call that minted a secret: the secret is not stored for replays.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? SecretWithheld { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }
    public DateTimeOffset? LastSuccessAt { get; init; }
    public DateTimeOffset? FailingSince { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

public sealed record DeliveryAttemptResponse(
    string Id, DateTimeOffset AttemptedAt, int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error);

public sealed record DeliveryResponse
{
    public required string Id { get; init; }
    public required string WebhookId { get; init; }
    public required string EventId { get; init; }
    public required string EventType { get; init; }
    /// <summary>pending, succeeded or failed (retries exhausted; retry by hand).</summary>
    public required string Status { get; init; }
    public required int Attempts { get; init; }
    public DateTimeOffset? NextAttemptAt { get; init; }
    public DateTimeOffset? LastAttemptAt { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public IReadOnlyList<DeliveryAttemptResponse>? AttemptLog { get; init; }
    /// <summary>The exact body sent (the event envelope).</summary>
    public JsonElement? Payload { get; init; }
}

/// <summary>An endpoint's queue and pace: <c>GET /api/v1/webhooks/{id}/stats</c>.</summary>
public sealed record WebhookStatsResponse
{
    /// <summary>Deliveries waiting for an attempt: due now, or due later after a failed one.</summary>
    public required long Pending { get; init; }
    /// <summary>Of those, the ones due now.</summary>
    public required long Due { get; init; }
    /// <summary>When the oldest pending delivery was created; null when nothing waits.</summary>
    public DateTimeOffset? OldestPendingAt { get; init; }
    /// <summary>How long the oldest pending delivery has waited, in seconds (0 when nothing waits).</summary>
    public required double OldestPendingAgeSeconds { get; init; }
    /// <summary>Attempts the endpoint answered with 2xx in the last 60 seconds, across all nodes.</summary>
    public required long SucceededLastMinute { get; init; }
    /// <summary>Attempts that failed in the last 60 seconds, across all nodes.</summary>
    public required long FailedLastMinute { get; init; }
    /// <summary>Successful deliveries per second over the last minute.</summary>
    public required double DeliveriesPerSecond { get; init; }
    /// <summary>Attempts this node lets be in flight to the endpoint now (it adapts to the receiver); null before the first.</summary>
    public int? Concurrency { get; init; }
}
