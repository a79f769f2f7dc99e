using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>What the bulk suites share: a client in a workspace of its own (so event counts are the test's alone) and readers.</summary>
public static class BulkTestClient
{
    public static async Task<HttpClient> NewWorkspaceAsync(TernFactory tern)
    {
        var admin = tern.Api();
        var workspace = await (await admin.PostJsonAsync("/api/v1/workspaces", new { name = "bulk-" + Guid.NewGuid().ToString("N")[..8] }))
            .ReadAsync<WorkspaceResponse>();
        var key = await (await admin.PostJsonAsync("/api/v1/keys", new
        {
            name = "bulk",
            scopes = new[] { "links:read", "links:write", "webhooks:read" },
            workspaceId = workspace.Id,
        })).ReadAsync<CreatedKeyResponse>();
        return tern.Api(key.Key);
    }

    /// <summary>Every event of this type in the client's workspace.</summary>
    public static async Task<List<EventEnvelope>> EventsAsync(this HttpClient api, string type)
    {
        var events = new List<EventEnvelope>();
        string? cursor = null;
        do
        {
            var page = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>(
                $"/api/v1/events?type={type}&limit=1000" + (cursor is null ? "" : "&cursor=" + cursor), Json))!;
            events.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return events;
    }

    public static async Task<BulkCreateResponse> BulkCreateAsync(this HttpClient api, params object[] items)
    {
        var response = await api.PostJsonAsync("/api/v1/links/bulk", new { items });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.ReadAsync<BulkCreateResponse>();
    }

    public static async Task<List<LinkResponse>> LinksTaggedAsync(this HttpClient api, string tag) =>
        [.. (await api.GetFromJsonAsync<ListResponse<LinkResponse>>($"/api/v1/links?tag={tag}&limit=1000", Json))!.Items];

    public static Task<HttpResponseMessage> PatchJsonAsync(this HttpClient api, string path, object body) =>
        api.PatchAsJsonAsync(path, body, Json);

    public static async Task<JsonObject> ReadObjectAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
}
