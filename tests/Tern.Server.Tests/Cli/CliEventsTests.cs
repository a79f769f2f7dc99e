using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Tern.Client;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Cli;

public sealed partial class CliEventsTests(CliServer server) : IClassFixture<CliServer>
{
    [Fact]
    public async Task WebhooksTestSendsATestEventThatDeliveriesListsAndRetrySendsAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var webhook = await SubscribeAsync(receiver.Url);

        var listed = await server.RunAsync("webhooks", "list");
        var test = await server.RunAsync("webhooks", "test", webhook.Id, "--json");
        var delivery = JsonSerializer.Deserialize<DeliveryResponse>(test.Out, Json)!;
        await receiver.WaitForAsync(1);
        var deliveries = await server.RunAsync("webhooks", "deliveries", webhook.Id, "--json");
        var retry = await server.RunAsync("webhooks", "retry", webhook.Id, delivery.Id);
        await receiver.WaitForAsync(2);

        Assert.Contains(webhook.Id, listed.Out, StringComparison.Ordinal);
        Assert.True(test.ExitCode == 0, test.Error);
        Assert.Contains(JsonSerializer.Deserialize<List<DeliveryResponse>>(deliveries.Out, Json)!, d => d.Id == delivery.Id);
        Assert.True(retry.ExitCode == 0, retry.Error);
        Assert.All(receiver.Received, r => Assert.Equal(delivery.EventId, r.Id));
        Assert.Equal(1, (await server.RunAsync("webhooks", "retry", webhook.Id, "dlv_unknown")).ExitCode);
    }

    /// <summary>Needs <c>GET /api/v1/events/stream</c>; skipped, saying so, on a server that does not route it.</summary>
    [Fact]
    public async Task ListenForwardsEachEventSignedWithTheSecretItPrints()
    {
        await SkipUnlessTheServerStreamsEventsAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var secret = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        var listening = server.RunAsync(["listen", "--forward-to", receiver.Url], cancellationToken: stop.Token, onOut: line =>
        {
            if (Secret().Match(line) is { Success: true } found)
            {
                secret.TrySetResult(found.Value);
            }

            if (line.Contains("link.created", StringComparison.Ordinal) && line.Contains("--> 200", StringComparison.Ordinal))
            {
                reported.TrySetResult();
            }
        });
        var signingSecret = await secret.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        // The CLI follows the stream from the newest event it saw before printing its secret, so this link's event is forwarded
        // even if the stream connects after it is created.
        var slug = UniqueSlug("listen");
        var created = await server.RunAsync("links", "create", "https://example.com/listen", "--slug", slug, "--json");
        var link = JsonSerializer.Deserialize<LinkResponse>(created.Out, Json)!;
        var forwarded = (await receiver.WaitForAsync(1)).First(r => r.Body.Contains(link.Id, StringComparison.Ordinal));
        // The CLI prints the receiver's answer once it has it: stop only after that line.
        await reported.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
        var run = await listening;

        var headers = new HeaderDictionary
        {
            ["webhook-id"] = forwarded.Id,
            ["webhook-timestamp"] = forwarded.Timestamp,
            ["webhook-signature"] = forwarded.Signature,
        };
        var verified = new WebhookVerifier(signingSecret).Verify(forwarded.Body, name => headers[name].ToString());
        new StandardWebhooks.StandardWebhook(signingSecret).Verify(forwarded.Body, headers);
        Assert.Equal("link.created", verified.Type);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"link.created", run.Out, StringComparison.Ordinal);
        Assert.Contains("--> 200", run.Out, StringComparison.Ordinal);
    }

    private async Task SkipUnlessTheServerStreamsEventsAsync()
    {
        using var http = new HttpClient();
        var openApi = await http.GetStringAsync($"{server.Tern.BaseUrl}/openapi/v1.json", TestContext.Current.CancellationToken);
        if (!openApi.Contains("\"/api/v1/events/stream\"", StringComparison.Ordinal))
        {
            Assert.Skip("This server has no GET /api/v1/events/stream yet (the contract's event stream), which tern listen follows.");
        }
    }

    private async Task<WebhookResponse> SubscribeAsync(string url)
    {
        using var api = new HttpClient { BaseAddress = new Uri(server.Tern.BaseUrl) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CliServer.Key);
        var response = await api.PostJsonAsync("/api/v1/webhooks", new { url, events = new[] { "link.deleted" } });
        return await response.ReadAsync<WebhookResponse>();
    }

    [GeneratedRegex(@"whsec_[A-Za-z0-9+/=]+")]
    private static partial Regex Secret();
}
