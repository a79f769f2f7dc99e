using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Tests.Webhooks;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Access;

/// <summary>Webhooks, their deliveries and the event log belong to one workspace; the webhooks:* scopes guard them.</summary>
public abstract class WebhookIsolationTests(TernFactory tern)
{
    private static readonly string[] Everything = ["links:read", "links:write", "webhooks:read", "webhooks:write"];

    private readonly HttpClient _admin = tern.Api();

    [Fact]
    public async Task AnotherWorkspaceCannotSeeOrTouchAWorkspacesWebhooksDeliveriesOrEvents()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var owner = tern.Api(await CreateKeyAsync(Everything, await CreateWorkspaceAsync()));
        var stranger = tern.Api(await CreateKeyAsync(Everything, await CreateWorkspaceAsync()));
        var webhook = await (await owner.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        var strangersOwn = await (await stranger.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        await owner.CreateLinkAsync(new { url = "https://example.com/isolated" });
        var received = await receiver.WaitForAsync(1);
        var delivery = (await owner.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{webhook.Id}/deliveries", Json))!.Items.Single();
        Assert.Equal(received[0].Id, delivery.EventId);

        var hook = $"/api/v1/webhooks/{webhook.Id}";
        await (await stranger.GetAsync(hook)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.GetAsync($"{hook}/stats")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.GetAsync($"{hook}/deliveries")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.GetAsync($"{hook}/deliveries/{delivery.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.GetAsync($"/api/v1/webhooks/{strangersOwn.Id}/deliveries/{delivery.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.PostAsync($"{hook}/deliveries/{delivery.Id}/retry", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.PatchAsJsonAsync(hook, new { enabled = false }, Json)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.PostAsync($"{hook}/test", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.PostAsync($"{hook}/rotate-secret", null)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await stranger.DeleteAsync(hook)).AssertProblemAsync(HttpStatusCode.NotFound);

        var strangersHooks = await stranger.GetFromJsonAsync<ListResponse<WebhookResponse>>("/api/v1/webhooks", Json);
        Assert.Equal([strangersOwn.Id], strangersHooks!.Items.Select(w => w.Id));
        var strangersEvents = await stranger.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events", Json);
        Assert.DoesNotContain(strangersEvents!.Items, e => e.Id == delivery.EventId);

        // Nothing the stranger tried changed the owner's webhook, and the owner still sees everything.
        var after = await owner.GetFromJsonAsync<WebhookResponse>(hook, Json);
        Assert.True(after!.Enabled);
        Assert.Equal(webhook.Url, after.Url);
        var ownersEvents = await owner.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events", Json);
        Assert.Contains(ownersEvents!.Items, e => e.Id == delivery.EventId);
        Assert.Single(receiver.Received, r => r.Id == delivery.EventId);
    }

    [Fact]
    public async Task WebhookCallsNeedTheWebhooksScopesAndNameTheMissingOne()
    {
        var workspace = await CreateWorkspaceAsync();
        var linksOnly = tern.Api(await CreateKeyAsync(["links:read", "links:write"], workspace));
        var readOnly = tern.Api(await CreateKeyAsync(["webhooks:read"], workspace));
        var writeOnly = tern.Api(await CreateKeyAsync(["webhooks:write"], workspace));
        var subscription = new { url = "https://hooks.example.com/tern", events = new[] { "link.created" } };

        var created = await writeOnly.PostJsonAsync("/api/v1/webhooks", subscription);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var webhook = await created.ReadAsync<WebhookResponse>();

        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync("/api/v1/webhooks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync($"/api/v1/webhooks/{webhook.Id}/deliveries")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await readOnly.GetAsync("/api/v1/events")).StatusCode);

        await AssertForbiddenNamingAsync(await readOnly.PostJsonAsync("/api/v1/webhooks", subscription), "webhooks:write");
        await AssertForbiddenNamingAsync(await readOnly.DeleteAsync($"/api/v1/webhooks/{webhook.Id}"), "webhooks:write");
        await AssertForbiddenNamingAsync(await readOnly.PostAsync($"/api/v1/webhooks/{webhook.Id}/rotate-secret", null), "webhooks:write");
        await AssertForbiddenNamingAsync(await writeOnly.GetAsync("/api/v1/webhooks"), "webhooks:read");
        await AssertForbiddenNamingAsync(await writeOnly.GetAsync("/api/v1/events"), "webhooks:read");
        await AssertForbiddenNamingAsync(await linksOnly.GetAsync($"/api/v1/webhooks/{webhook.Id}"), "webhooks:read");
        await AssertForbiddenNamingAsync(await linksOnly.PostJsonAsync("/api/v1/webhooks", subscription), "webhooks:write");

        Assert.Equal(HttpStatusCode.NoContent, (await writeOnly.DeleteAsync($"/api/v1/webhooks/{webhook.Id}")).StatusCode);
    }

    private static async Task AssertForbiddenNamingAsync(HttpResponseMessage response, string scope)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.Forbidden, "/problems/forbidden");
        Assert.Contains(scope, (string?)problem["detail"], StringComparison.Ordinal);
    }

    private async Task<string> CreateWorkspaceAsync()
    {
        var response = await _admin.PostJsonAsync("/api/v1/workspaces", new { name = "Tenant " + Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadAsync<WorkspaceResponse>()).Id;
    }

    private async Task<string> CreateKeyAsync(string[] scopes, string workspaceId)
    {
        var response = await _admin.PostJsonAsync("/api/v1/keys", new { name = "tenant key", scopes, workspaceId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadAsync<CreatedKeyResponse>()).Key!;
    }
}

public sealed class WebhookIsolationTestsOnSqlite(WebhookTern tern) : WebhookIsolationTests(tern), IClassFixture<WebhookTern>;

public sealed class WebhookIsolationTestsOnPostgres(PostgresWebhookTern tern) : WebhookIsolationTests(tern), IClassFixture<PostgresWebhookTern>;
