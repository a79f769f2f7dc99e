using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>Source-generated JSON metadata for every request and response of the API.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    Converters = [typeof(UtcTimestampConverter)],
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(CreateLinkRequest))]
[JsonSerializable(typeof(UpdateLinkRequest))]
[JsonSerializable(typeof(LinkResponse))]
[JsonSerializable(typeof(ListResponse<LinkResponse>))]
[JsonSerializable(typeof(BulkCreateRequest))]
[JsonSerializable(typeof(BulkCreateResponse))]
[JsonSerializable(typeof(BulkUpdateRequest))]
[JsonSerializable(typeof(BulkUpdateResponse))]
[JsonSerializable(typeof(BulkDeleteRequest))]
[JsonSerializable(typeof(BulkDeleteResponse))]
[JsonSerializable(typeof(MatrixRequest))]
[JsonSerializable(typeof(CreateWorkspaceRequest))]
[JsonSerializable(typeof(WorkspaceResponse))]
[JsonSerializable(typeof(ListResponse<WorkspaceResponse>))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKeyResponse))]
[JsonSerializable(typeof(KeyResponse))]
[JsonSerializable(typeof(ListResponse<KeyResponse>))]
[JsonSerializable(typeof(ClickResponse))]
[JsonSerializable(typeof(ListResponse<ClickResponse>))]
[JsonSerializable(typeof(StatsResponse))]
[JsonSerializable(typeof(EventEnvelope))]
[JsonSerializable(typeof(ListResponse<EventEnvelope>))]
[JsonSerializable(typeof(CreateWebhookRequest))]
[JsonSerializable(typeof(UpdateWebhookRequest))]
[JsonSerializable(typeof(WebhookResponse))]
[JsonSerializable(typeof(ListResponse<WebhookResponse>))]
[JsonSerializable(typeof(DeliveryResponse))]
[JsonSerializable(typeof(ListResponse<DeliveryResponse>))]
[JsonSerializable(typeof(WebhookStatsResponse))]
[JsonSerializable(typeof(BackupResponse))]
public sealed partial class TernJsonContext : JsonSerializerContext;
