using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Events;
using Tern.Server.Hosting;

namespace Tern.Server.Webhooks;

/// <summary><c>/api/v1/webhooks</c>: subscriptions, their delivery log, manual retry, a test event and secret rotation.</summary>
public static class WebhookEndpoints
{
    public const int MaxFilterEntries = 100;
    public const int MaxDescriptionLength = 500;

    public static void MapWebhooks(this RouteGroupBuilder api)
    {
        var webhooks = api.MapGroup("/webhooks").WithTags("Webhooks");

        var reads = webhooks.MapGroup("").RequireAuthorization(Scopes.WebhooksRead);
        reads.MapGet("/", List).WithName("ListWebhooks").WithSummary("List subscriptions");
        reads.MapGet("/{id}", Get).WithName("GetWebhook").WithSummary("Get a subscription");
        reads.MapGet("/{id}/stats", GetStats).WithName("GetWebhookStats")
            .WithSummary("The endpoint's backlog (pending, due, oldest waiting) and its delivery rate");
        reads.MapGet("/{id}/deliveries", ListDeliveries).WithName("ListWebhookDeliveries").WithSummary("The delivery log, newest first, with every attempt");
        reads.MapGet("/{id}/deliveries/{deliveryId}", GetDelivery).WithName("GetWebhookDelivery")
            .WithSummary("One delivery with its attempts and the exact payload");

        var writes = webhooks.MapGroup("").RequireAuthorization(Scopes.WebhooksWrite);
        writes.MapPost("/", Create).WithName("CreateWebhook").WithMetadata(new WithholdOnReplay("secret")).WithSummary("Subscribe an endpoint to events (the signing secret is in the answer)");
        writes.MapPatch("/{id}", Update).WithName("UpdateWebhook").WithSummary("Change a subscription; enabled: true re-enables a disabled one");
        writes.MapDelete("/{id}", Delete).WithName("DeleteWebhook").WithSummary("Delete a subscription");
        writes.MapPost("/{id}/test", SendTest).WithName("TestWebhook").WithSummary("Send a webhook.test event to the endpoint");
        writes.MapPost("/{id}/deliveries/{deliveryId}/retry", RetryDelivery).WithName("RetryWebhookDelivery")
            .WithSummary("Send a delivery again now (also a failed one)");
        writes.MapPost("/{id}/rotate-secret", RotateSecret).WithName("RotateWebhookSecret").WithMetadata(new WithholdOnReplay("secret"))
            .WithSummary("New signing secret; the old one keeps signing beside it for 24 hours");
    }

    public static async Task<Results<Created<WebhookResponse>, ProblemHttpResult>> Create(
        CreateWebhookRequest body, ClaimsPrincipal user, WebhookStore store, IOptions<WebhookOptions> options, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        Validate(body.Url, body.Events, body.Description, body.Filter, options.Value, errors, urlRequired: true);
        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var webhook = new Webhook
        {
            Id = Ids.New("wh", now),
            WorkspaceId = TernClaims.WorkspaceOf(user),
            Url = body.Url!,
            Events = [.. body.Events!.Distinct(StringComparer.Ordinal)],
            Description = body.Description,
            FilterTags = body.Filter?.Tags,
            FilterLinkIds = body.Filter?.LinkIds,
            IncludeBots = body.IncludeBots ?? false,
            Secret = WebhookSignature.NewSecret(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await store.InsertAsync(webhook, cancellationToken);
        return TypedResults.Created($"/api/v1/webhooks/{webhook.Id}", ToResponse(webhook, showSecret: true));
    }

    public static async Task<Ok<ListResponse<WebhookResponse>>> List(ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new ListResponse<WebhookResponse>(
            [.. (await store.ListAsync(TernClaims.WorkspaceOf(user), cancellationToken)).Select(w => ToResponse(w))], null));

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Get(
        string id, ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken) =>
        await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is { } webhook
            ? TypedResults.Ok(ToResponse(webhook))
            : NotFound(id);

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> Update(
        string id, UpdateWebhookRequest body, ClaimsPrincipal user, WebhookStore store, IOptions<WebhookOptions> options, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is not { } webhook)
        {
            return NotFound(id);
        }

        var errors = new Dictionary<string, string[]>();
        var url = body.Url.GetValueOr(webhook.Url);
        var events = body.Events.GetValueOr(webhook.Events);
        var filter = body.Filter.GetValueOr(new WebhookFilter { Tags = webhook.FilterTags, LinkIds = webhook.FilterLinkIds });
        var description = body.Description.GetValueOr(webhook.Description);
        Validate(url, events, description, filter, options.Value, errors, urlRequired: true);
        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var enabled = body.Enabled.GetValueOr(webhook.Enabled) ?? true;
        var updated = webhook with
        {
            Url = url!,
            Events = [.. events!.Distinct(StringComparer.Ordinal)],
            Description = description,
            FilterTags = filter?.Tags,
            FilterLinkIds = filter?.LinkIds,
            IncludeBots = body.IncludeBots.GetValueOr(webhook.IncludeBots) ?? false,
            Enabled = enabled,
            // Re-enabling starts afresh: no reason, no failing streak.
            DisabledReason = enabled ? null : webhook.DisabledReason ?? "Disabled by a user.",
            FailingSince = enabled && !webhook.Enabled ? null : webhook.FailingSince,
            UpdatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        await store.UpdateAsync(updated, cancellationToken);
        return TypedResults.Ok(ToResponse(updated));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> Delete(
        string id, ClaimsPrincipal user, WebhookStore store, CancellationToken cancellationToken) =>
        await store.DeleteAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    public static async Task<Results<Accepted<DeliveryResponse>, ProblemHttpResult>> SendTest(
        string id, ClaimsPrincipal user, WebhookStore store, DeliveryQueue queue, DeliveryAnnouncements announcements, EventOutbox outbox,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is not { } webhook)
        {
            return NotFound(id);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var envelope = new EventEnvelope
        {
            Id = Ids.New("evt", now),
            Type = EventTypes.WebhookTest,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(now),
            Data = new EventData(),
        };
        var payload = JsonSerializer.Serialize(envelope, TernJsonContext.Default.EventEnvelope);
        var test = new AppendedEvent(envelope.Id, EventTypes.WebhookTest, webhook.WorkspaceId, null, [], false, now, payload);
        var delivery = await queue.EnqueueTestAsync(webhook, test, cancellationToken);
        announcements.Announce([webhook.Id]);
        outbox.Signal();
        return TypedResults.Accepted($"/api/v1/webhooks/{id}/deliveries/{delivery.Id}", ToResponse(delivery, null, payload));
    }

    public static async Task<Results<Ok<ListResponse<DeliveryResponse>>, ProblemHttpResult>> ListDeliveries(
        string id, ClaimsPrincipal user, WebhookStore store, DeliveryQueue queue, CancellationToken cancellationToken,
        string? status = null, string? limit = null, string? cursor = null)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var errors = new Dictionary<string, string[]>();
        var pageSize = Paging.Parse(limit, cursor, "dlv", errors);

        var wanted = DeliveryStatuses.Parse(status);
        if (status is not null && wanted is null)
        {
            errors["status"] = ["status must be pending, succeeded or failed."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var page = await queue.ListAsync(id, wanted, cursor, pageSize + 1, cancellationToken);
        var items = page.Take(pageSize).ToList();
        return TypedResults.Ok(new ListResponse<DeliveryResponse>(
            [.. items.Select(d => ToResponse(d.Delivery, d.Attempts, null))], page.Count > pageSize ? items[^1].Delivery.Id : null));
    }

    public static async Task<Results<Ok<DeliveryResponse>, ProblemHttpResult>> GetDelivery(
        string id, string deliveryId, ClaimsPrincipal user, WebhookStore store, DeliveryQueue queue, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        return await queue.FindAsync(id, deliveryId, cancellationToken) is { } found
            ? TypedResults.Ok(ToResponse(found.Delivery, found.Attempts, found.Payload))
            : Problems.Result(Problems.NotFound, $"Webhook {id} has no delivery '{deliveryId}'.");
    }

    public static async Task<Results<Accepted, ProblemHttpResult>> RetryDelivery(
        string id, string deliveryId, ClaimsPrincipal user, DeliveryQueue queue, DeliveryAnnouncements announcements, EventOutbox outbox,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await queue.RetryNowAsync(TernClaims.WorkspaceOf(user), id, deliveryId, time.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken))
        {
            return Problems.Result(Problems.NotFound, $"Webhook {id} has no delivery '{deliveryId}'.");
        }

        announcements.Announce([id]);
        outbox.Signal();
        return TypedResults.Accepted($"/api/v1/webhooks/{id}/deliveries/{deliveryId}");
    }

    public static async Task<Results<Ok<WebhookStatsResponse>, ProblemHttpResult>> GetStats(
        string id, ClaimsPrincipal user, WebhookStore store, DeliveryQueue queue, WebhookDispatcher dispatcher, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var backlog = await queue.BacklogAsync(id, now, cancellationToken);
        return TypedResults.Ok(new WebhookStatsResponse
        {
            Pending = backlog.Pending,
            Due = backlog.Due,
            OldestPendingAt = At(backlog.OldestPendingAt),
            OldestPendingAgeSeconds = backlog.OldestPendingAt is { } oldest ? Math.Max(0, now - oldest) / 1000d : 0,
            SucceededLastMinute = backlog.SucceededLastMinute,
            FailedLastMinute = backlog.FailedLastMinute,
            DeliveriesPerSecond = Math.Round(backlog.SucceededLastMinute / 60d, 2),
            Concurrency = dispatcher.ConcurrencyOf(id),
        });
    }

    public static async Task<Results<Ok<WebhookResponse>, ProblemHttpResult>> RotateSecret(
        string id, ClaimsPrincipal user, WebhookStore store, IOptions<WebhookOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is not { } webhook)
        {
            return NotFound(id);
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var rotated = webhook with
        {
            Secret = WebhookSignature.NewSecret(),
            PreviousSecret = webhook.Secret,
            PreviousSecretExpiresAt = now + (long)TimeSpan.FromHours(options.Value.RotationOverlapHours).TotalMilliseconds,
            UpdatedAt = now,
        };
        await store.UpdateAsync(rotated, cancellationToken);
        return TypedResults.Ok(ToResponse(rotated, showSecret: true));
    }

    private static void Validate(string? url, IReadOnlyList<string>? events, string? description, WebhookFilter? filter, WebhookOptions options,
        Dictionary<string, string[]> errors, bool urlRequired)
    {
        if ((url is not null || urlRequired) && SsrfGuard.CheckUrl(url, options.AllowPrivateNetworks, options.ParsedAllowedHosts) is { } urlError)
        {
            errors["url"] = [urlError];
        }

        if (events is null || events.Count == 0)
        {
            errors["events"] = [$"events must list at least one of {string.Join(", ", EventTypes.All)}."];
        }
        else if (events.FirstOrDefault(e => !EventTypes.All.Contains(e, StringComparer.Ordinal)) is { } unknown)
        {
            errors["events"] = [$"'{unknown}' is not an event type; known types are {string.Join(", ", EventTypes.All)}."];
        }

        if (description is { Length: > MaxDescriptionLength })
        {
            errors["description"] = [$"description must be at most {MaxDescriptionLength} characters."];
        }

        if (filter?.Tags is { } tags && (tags.Count > MaxFilterEntries || tags.Any(string.IsNullOrWhiteSpace)))
        {
            errors["filter.tags"] = [$"filter.tags must hold at most {MaxFilterEntries} non-empty tags."];
        }

        if (filter?.LinkIds is { } linkIds && (linkIds.Count > MaxFilterEntries || linkIds.Any(l => !Ids.IsWellFormed(l, "lnk"))))
        {
            errors["filter.linkIds"] = [$"filter.linkIds must hold at most {MaxFilterEntries} link ids (lnk_…)."];
        }
    }

    private static ProblemHttpResult NotFound(string id) => Problems.Result(Problems.NotFound, $"No webhook has the id '{id}'.");

    private static DateTimeOffset? At(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;

    public static WebhookResponse ToResponse(Webhook webhook, bool showSecret = false) => new()
    {
        Id = webhook.Id,
        Url = webhook.Url,
        Events = webhook.Events,
        Description = webhook.Description,
        Filter = webhook.FilterTags is null && webhook.FilterLinkIds is null ? null : new WebhookFilter { Tags = webhook.FilterTags, LinkIds = webhook.FilterLinkIds },
        IncludeBots = webhook.IncludeBots,
        Enabled = webhook.Enabled,
        DisabledReason = webhook.Enabled ? null : webhook.DisabledReason,
        Secret = showSecret ? webhook.Secret : null,
        PreviousSecretExpiresAt = showSecret ? At(webhook.PreviousSecretExpiresAt) : null,
        LastSuccessAt = At(webhook.LastSuccessAt),
        FailingSince = At(webhook.FailingSince),
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(webhook.CreatedAt),
        UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(webhook.UpdatedAt),
    };

    private static DeliveryResponse ToResponse(Delivery delivery, IReadOnlyList<DeliveryAttempt>? attempts, string? payload) => new()
    {
        Id = delivery.Id,
        WebhookId = delivery.WebhookId,
        EventId = delivery.EventId,
        EventType = delivery.EventType,
        Status = delivery.Status.ToStorage(),
        Attempts = delivery.Attempts,
        NextAttemptAt = delivery.Status == DeliveryStatus.Pending ? At(delivery.NextAttemptAt) : null,
        LastAttemptAt = At(delivery.LastAttemptAt),
        LastStatusCode = delivery.LastStatusCode,
        LastError = delivery.LastError,
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(delivery.CreatedAt),
        AttemptLog = attempts?.Select(a => new DeliveryAttemptResponse(a.Id, DateTimeOffset.FromUnixTimeMilliseconds(a.AttemptedAt), a.StatusCode, a.LatencyMs, a.ResponseExcerpt, a.Error)).ToList(),
        Payload = payload is null ? null : JsonDocument.Parse(payload).RootElement.Clone(),
    };
}
