using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Webhooks;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Webhooks;

/// <summary>
/// <c>Tern:Webhooks:Send</c>: a node that does not send stores every event's deliveries, and a node that sends, over
/// the same storage, sends them. Played on one SQLite file by two nodes one after the other.
/// </summary>
public sealed class SendingNodeTests
{
    [Fact]
    public async Task ANodeThatDoesNotSendKeepsItsDeliveriesForANodeThatDoes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var storage = new SqliteBackend();
        string webhookId;
        string linkId;
        await using (var quiet = new Node(storage, send: false))
        {
            await quiet.InitializeAsync();
            var api = quiet.Api();
            var subscribed = await api.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } });
            Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
            webhookId = (await subscribed.ReadAsync<WebhookResponse>()).Id;
            linkId = (await api.CreateLinkAsync(new { url = "https://example.com/kept", slug = UniqueSlug("kept") })).Id;

            var stats = await api.GetFromJsonAsync<WebhookStatsResponse>($"/api/v1/webhooks/{webhookId}/stats", Json, TestContext.Current.CancellationToken);
            Assert.Equal(1, stats!.Pending);
            Assert.Equal(0, quiet.Get<WebhookDispatcher>().Attempts);
            Assert.Empty(receiver.Received);
        }

        await using var sender = new Node(storage, send: true);
        await sender.InitializeAsync();

        var received = (await receiver.WaitForAsync(1)).Single();
        Assert.Contains(linkId, received.Body, StringComparison.Ordinal);
        // The attempt is stored just after the receiver answered.
        var clock = Stopwatch.StartNew();
        DeliveryResponse delivery;
        while ((delivery = await SingleDeliveryAsync(sender.Api(), webhookId)).Status != "succeeded")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the delivery is still {delivery.Status}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(1, delivery.Attempts);
    }

    private static async Task<DeliveryResponse> SingleDeliveryAsync(HttpClient api, string webhookId) =>
        (await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{webhookId}/deliveries", Json, TestContext.Current.CancellationToken))!
            .Items.Single();

    /// <summary>A node on the given storage, with quick webhooks, sending or not; the storage outlives it.</summary>
    private sealed class Node(StorageBackend storage, bool send) : TernFactory(new Kept(storage))
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [.. WebhookTern.FastWebhooks, new("Tern:Webhooks:Send", send ? "true" : "false")];
    }

    /// <summary>Storage that a node leaves in place when it stops.</summary>
    private sealed class Kept(StorageBackend inner) : StorageBackend
    {
        public override string Name => inner.Name;

        public override IEnumerable<KeyValuePair<string, string?>> Settings => inner.Settings;

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
