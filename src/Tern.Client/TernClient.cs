using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Tern.Contracts;

namespace Tern.Client;

/// <summary>
/// Every call of the Tern API. Lists are <see cref="IAsyncEnumerable{T}"/> that follow the cursor page by page;
/// an error answer throws <see cref="TernApiException"/> with the problem details. Register it with
/// <see cref="TernClientServiceCollectionExtensions.AddTernClient"/>, or hand it an <see cref="HttpClient"/> whose
/// base address and bearer key are set.
/// </summary>
public sealed partial class TernClient(HttpClient http)
{
    private const string Api = "api/v1/";
    private static readonly TernJsonContext Json = TernJsonContext.Default;

    /// <summary>The HttpClient the calls go through.</summary>
    public HttpClient Http => http;

    // Links

    /// <summary>Creates a link; a repeat with the same slug or externalId and the same definition returns the existing one.</summary>
    public Task<LinkResponse> CreateLinkAsync(CreateLinkRequest link, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "links", link, Json.CreateLinkRequest, Json.LinkResponse, cancellationToken);

    /// <summary>Creates or replaces the link with this externalId.</summary>
    public Task<LinkResponse> UpsertLinkAsync(string externalId, CreateLinkRequest link, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, $"links/external/{Escape(externalId)}", link, Json.CreateLinkRequest, Json.LinkResponse, cancellationToken);

    public Task<LinkResponse> GetLinkAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync($"links/{Escape(id)}", Json.LinkResponse, cancellationToken);

    /// <summary>Changes a link: unset fields stay, fields set to null are cleared.</summary>
    public Task<LinkResponse> UpdateLinkAsync(string id, UpdateLinkRequest change, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, $"links/{Escape(id)}", change, Json.UpdateLinkRequest, Json.LinkResponse, cancellationToken);

    public Task DeleteLinkAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"links/{Escape(id)}", cancellationToken);

    /// <summary>Every link matching the filter, newest first.</summary>
    public IAsyncEnumerable<LinkResponse> ListLinksAsync(LinkFilter? filter = null, CancellationToken cancellationToken = default) =>
        PagesAsync("links", filter?.ToQuery() ?? [], Json.ListResponseLinkResponse, cancellationToken);

    /// <summary>Up to 1000 links in one call; one bad item never fails the others.</summary>
    public Task<BulkCreateResponse> CreateLinksAsync(IReadOnlyList<CreateLinkRequest> links, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "links/bulk", new BulkCreateRequest { Items = links }, Json.BulkCreateRequest, Json.BulkCreateResponse, cancellationToken);

    public Task<BulkUpdateResponse> UpdateLinksAsync(BulkUpdateRequest change, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, "links/bulk", change, Json.BulkUpdateRequest, Json.BulkUpdateResponse, cancellationToken);

    public Task<BulkDeleteResponse> DeleteLinksAsync(BulkFilter filter, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "links/bulk-delete", new BulkDeleteRequest { Filter = filter }, Json.BulkDeleteRequest, Json.BulkDeleteResponse, cancellationToken);

    /// <summary>Expands a template over every combination of the dimensions' values and creates the links (or, dry run, shows them).</summary>
    public Task<BulkCreateResponse> CreateMatrixAsync(MatrixRequest matrix, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "links/matrix", matrix, Json.MatrixRequest, Json.BulkCreateResponse, cancellationToken);

    /// <summary>Every link matching the filter as one CSV file; the caller disposes the stream.</summary>
    public Task<Stream> ExportLinksCsvAsync(LinkFilter? filter = null, CancellationToken cancellationToken = default) =>
        StreamAsync("links", [.. filter?.ToQuery() ?? [], ("format", "csv")], cancellationToken);

    // Clicks and stats

    /// <summary>Raw clicks, newest first.</summary>
    public IAsyncEnumerable<ClickResponse> ListClicksAsync(ClickFilter? filter = null, CancellationToken cancellationToken = default) =>
        PagesAsync("clicks", filter?.ToQuery() ?? [], Json.ListResponseClickResponse, cancellationToken);

    /// <summary>Clicks strictly after the one with this id, oldest first: what a poller has not seen yet.</summary>
    public IAsyncEnumerable<ClickResponse> ListClicksAfterAsync(string after, ClickFilter? filter = null, CancellationToken cancellationToken = default) =>
        AfterAsync("clicks", after, filter?.ToQuery() ?? [], Json.ListResponseClickResponse, c => c.Id, cancellationToken);

    public Task<Stream> ExportClicksCsvAsync(ClickFilter? filter = null, CancellationToken cancellationToken = default) =>
        StreamAsync("clicks", [.. filter?.ToQuery() ?? [], ("format", "csv")], cancellationToken);

    /// <summary>A link's clicks over a range (default the last 30 days): total, time series and breakdowns.</summary>
    public Task<StatsResponse> GetLinkStatsAsync(string id, StatsRange? range = null, CancellationToken cancellationToken = default) =>
        GetAsync(WithQuery($"links/{Escape(id)}/stats", range?.ToQuery() ?? []), Json.StatsResponse, cancellationToken);

    /// <summary>The workspace's clicks (or those of the links with <paramref name="tag"/>) with the top links.</summary>
    public Task<StatsResponse> GetWorkspaceStatsAsync(StatsRange? range = null, string? tag = null, CancellationToken cancellationToken = default) =>
        GetAsync(WithQuery("stats", [.. range?.ToQuery() ?? [], ("tag", tag)]), Json.StatsResponse, cancellationToken);

    // Events

    /// <summary>The query pair of an includeBots argument: absent at its default (true), so URLs stay as before.</summary>
    private static (string, string?) Bots(bool includeBots) => ("includeBots", includeBots ? null : "false");

    /// <summary>
    /// The event log, newest first, optionally of one type. <paramref name="includeBots"/> false leaves out the
    /// <c>link.clicked</c> events of clicks classified as bots.
    /// </summary>
    public IAsyncEnumerable<EventEnvelope> ListEventsAsync(string? type = null, bool includeBots = true, CancellationToken cancellationToken = default) =>
        PagesAsync("events", [("type", type), Bots(includeBots)], Json.ListResponseEventEnvelope, cancellationToken);

    /// <summary>One page of the event log, newest first; pass its NextCursor as <paramref name="cursor"/> for the next.</summary>
    public Task<ListResponse<EventEnvelope>> ListEventsPageAsync(
        string? type = null, int limit = 50, string? cursor = null, bool includeBots = true, CancellationToken cancellationToken = default) =>
        GetAsync(WithQuery("events", [("type", type), ("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", cursor), Bots(includeBots)]),
            Json.ListResponseEventEnvelope, cancellationToken);

    /// <summary>Events strictly after the one with this id, oldest first.</summary>
    public IAsyncEnumerable<EventEnvelope> ListEventsAfterAsync(string after, string? type = null, bool includeBots = true, CancellationToken cancellationToken = default) =>
        AfterAsync("events", after, [("type", type), Bots(includeBots)], Json.ListResponseEventEnvelope, e => e.Id, cancellationToken);

    /// <summary>
    /// The workspace's events as they commit (<c>GET /api/v1/events/stream</c>), after <paramref name="lastEventId"/> when
    /// given. A dropped connection is resumed from the last event seen; the sequence ends when the token is cancelled.
    /// </summary>
    public async IAsyncEnumerable<EventEnvelope> StreamEventsAsync(
        string? lastEventId = null, bool includeBots = true, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in StreamEventJsonAsync(lastEventId, includeBots, cancellationToken))
        {
            yield return JsonSerializer.Deserialize(item.Json, Json.EventEnvelope)!;
        }
    }

    /// <summary>
    /// Like <see cref="StreamEventsAsync"/>, but each event as the exact JSON Tern sent, for forwarding it unchanged.
    /// </summary>
    public async IAsyncEnumerable<StreamedEvent> StreamEventJsonAsync(
        string? lastEventId = null, bool includeBots = true, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reconnect = TimeSpan.FromSeconds(1);
        while (!cancellationToken.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Api + WithQuery("events/stream", [Bots(includeBots)]));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            if (lastEventId is not null)
            {
                request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            }
            catch (HttpRequestException) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(reconnect, cancellationToken);
                continue;
            }

            using (response)
            {
                await EnsureSuccessAsync(response, cancellationToken);
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                await using var items = SseParser.Create(body).EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                while (true)
                {
                    StreamedEvent next;
                    try
                    {
                        if (!await items.MoveNextAsync())
                        {
                            break;
                        }

                        var item = items.Current;
                        reconnect = item.ReconnectionInterval ?? reconnect;
                        if (string.IsNullOrWhiteSpace(item.Data) || !item.Data.TrimStart().StartsWith('{'))
                        {
                            continue; // a keep-alive or a comment
                        }

                        next = Streamed(item.Data);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    lastEventId = next.Id;
                    yield return next;
                }
            }

            await Task.Delay(reconnect, cancellationToken);
        }
    }

    private static StreamedEvent Streamed(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new StreamedEvent(root.GetProperty("id").GetString()!, root.GetProperty("type").GetString()!, json);
    }

    // Webhooks

    /// <summary>Subscribes an endpoint; the answer holds the signing secret, shown this once.</summary>
    public Task<WebhookResponse> CreateWebhookAsync(CreateWebhookRequest webhook, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "webhooks", webhook, Json.CreateWebhookRequest, Json.WebhookResponse, cancellationToken);

    public IAsyncEnumerable<WebhookResponse> ListWebhooksAsync(CancellationToken cancellationToken = default) =>
        PagesAsync("webhooks", [], Json.ListResponseWebhookResponse, cancellationToken);

    public Task<WebhookResponse> GetWebhookAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync($"webhooks/{Escape(id)}", Json.WebhookResponse, cancellationToken);

    public Task<WebhookResponse> UpdateWebhookAsync(string id, UpdateWebhookRequest change, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, $"webhooks/{Escape(id)}", change, Json.UpdateWebhookRequest, Json.WebhookResponse, cancellationToken);

    public Task DeleteWebhookAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"webhooks/{Escape(id)}", cancellationToken);

    /// <summary>Sends a webhook.test event to the endpoint; the answer is the queued delivery.</summary>
    public Task<DeliveryResponse> TestWebhookAsync(string id, CancellationToken cancellationToken = default) =>
        PostAsync($"webhooks/{Escape(id)}/test", Json.DeliveryResponse, cancellationToken);

    /// <summary>Issues a new secret; the old one keeps signing beside it for 24 hours.</summary>
    public Task<WebhookResponse> RotateWebhookSecretAsync(string id, CancellationToken cancellationToken = default) =>
        PostAsync($"webhooks/{Escape(id)}/rotate-secret", Json.WebhookResponse, cancellationToken);

    public Task<WebhookStatsResponse> GetWebhookStatsAsync(string id, CancellationToken cancellationToken = default) =>
        GetAsync($"webhooks/{Escape(id)}/stats", Json.WebhookStatsResponse, cancellationToken);

    /// <summary>The delivery log of a subscription, newest first, each with its attempts.</summary>
    public IAsyncEnumerable<DeliveryResponse> ListDeliveriesAsync(string webhookId, string? status = null, CancellationToken cancellationToken = default) =>
        PagesAsync($"webhooks/{Escape(webhookId)}/deliveries", [("status", status)], Json.ListResponseDeliveryResponse, cancellationToken);

    public Task<DeliveryResponse> GetDeliveryAsync(string webhookId, string deliveryId, CancellationToken cancellationToken = default) =>
        GetAsync($"webhooks/{Escape(webhookId)}/deliveries/{Escape(deliveryId)}", Json.DeliveryResponse, cancellationToken);

    /// <summary>Queues the delivery for another attempt now (Tern answers 202 and sends it in the background).</summary>
    public Task RetryDeliveryAsync(string webhookId, string deliveryId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, $"webhooks/{Escape(webhookId)}/deliveries/{Escape(deliveryId)}/retry", cancellationToken);

    // Workspaces and keys (scope admin)

    public Task<WorkspaceResponse> CreateWorkspaceAsync(string name, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "workspaces", new CreateWorkspaceRequest { Name = name }, Json.CreateWorkspaceRequest, Json.WorkspaceResponse, cancellationToken);

    public IAsyncEnumerable<WorkspaceResponse> ListWorkspacesAsync(CancellationToken cancellationToken = default) =>
        PagesAsync("workspaces", [], Json.ListResponseWorkspaceResponse, cancellationToken);

    /// <summary>Creates a key; <see cref="CreatedKeyResponse.Key"/> is shown this once.</summary>
    public Task<CreatedKeyResponse> CreateKeyAsync(CreateKeyRequest key, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "keys", key, Json.CreateKeyRequest, Json.CreatedKeyResponse, cancellationToken);

    public IAsyncEnumerable<KeyResponse> ListKeysAsync(string? workspaceId = null, CancellationToken cancellationToken = default) =>
        PagesAsync("keys", [("workspaceId", workspaceId)], Json.ListResponseKeyResponse, cancellationToken);

    public Task RevokeKeyAsync(string id, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, $"keys/{Escape(id)}", cancellationToken);
}
