namespace Tern.Server.Webhooks;

/// <summary>A subscription: an endpoint, the events it wants, and the secrets that sign what it receives.</summary>
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

/// <summary>Where a delivery stands. Stored as its lower-case name.</summary>
public enum DeliveryStatus
{
    /// <summary>Waiting for its next attempt (the first, or a retry).</summary>
    Pending,

    /// <summary>The endpoint answered 2xx.</summary>
    Succeeded,

    /// <summary>Every attempt of the retry schedule failed; only a manual retry sends it again.</summary>
    Failed,
}

public static class DeliveryStatuses
{
    /// <summary>
    /// The stored name of <see cref="DeliveryStatus.Pending"/> as a SQL literal. Claims spell it literally, because only
    /// a query that names the partial index's own condition may use that index (a parameter would not).
    /// </summary>
    public const string PendingSql = "'pending'";

    public static string ToStorage(this DeliveryStatus status) => status switch
    {
        DeliveryStatus.Pending => "pending",
        DeliveryStatus.Succeeded => "succeeded",
        _ => "failed",
    };

    public static DeliveryStatus? Parse(string? value) => value switch
    {
        "pending" => DeliveryStatus.Pending,
        "succeeded" => DeliveryStatus.Succeeded,
        "failed" => DeliveryStatus.Failed,
        _ => null,
    };
}

/// <summary>One event's delivery to one endpoint, with what its attempts left behind.</summary>
public sealed record Delivery
{
    public required string Id { get; init; }
    public required string WebhookId { get; init; }
    public required string WorkspaceId { get; init; }
    public required string EventId { get; init; }
    public required string EventType { get; init; }
    public required DeliveryStatus Status { get; init; }
    public required int Attempts { get; init; }
    public long? NextAttemptAt { get; init; }
    public long? LastAttemptAt { get; init; }
    public int? LastStatusCode { get; init; }
    public string? LastError { get; init; }
    public required long CreatedAt { get; init; }
}

public sealed record DeliveryAttempt(string Id, string DeliveryId, long AttemptedAt, int? StatusCode, int LatencyMs, string? ResponseExcerpt, string? Error);

/// <summary>
/// A claimed delivery with what sending it needs: the endpoint, its secrets and the exact payload. The claim holds
/// until <paramref name="ClaimedUntil"/> (the delivery is due again then); after that another node, or this one, may
/// take it again.
/// </summary>
public sealed record ClaimedDelivery(Delivery Delivery, Webhook Webhook, string Payload, long ClaimedUntil);

/// <summary>An attempt to record, and where it leaves its delivery: succeeded, pending again at <c>NextAttemptAt</c>, or failed.</summary>
public sealed record AttemptRecord(DeliveryAttempt Attempt, Delivery Delivery, bool Succeeded, long? NextAttemptAt);

/// <summary>An endpoint's queue: how much waits, since when, and how fast it has been going.</summary>
public sealed record DeliveryBacklog(string WebhookId, long Pending, long Due, long? OldestPendingAt, long SucceededLastMinute, long FailedLastMinute);
