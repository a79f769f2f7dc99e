using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.EndToEnd;

/// <summary>A kill -9 in the middle of deliveries loses no committed event: after a restart every one goes out.</summary>
public sealed class WebhookCrashTests : IDisposable
{
    private const string AdminKey = "tern_CrashTestAdminKey00000000000000";
    private readonly string _dataDir = Directory.CreateTempSubdirectory("tern-crash-").FullName;

    [Fact]
    public async Task EveryCommittedEventIsDeliveredAfterAKillMinus9()
    {
        const int links = 30;
        await using var receiver = await WebhookReceiver.StartAsync();
        var crashed = false;
        var slowBeforeCrash = new TaskCompletionSource();
        // Before the crash the receiver is slow, so deliveries are in flight when Tern dies; afterwards it is quick.
        receiver.Respond = async (_, _) =>
        {
            if (!Volatile.Read(ref crashed))
            {
                slowBeforeCrash.TrySetResult();
                await Task.Delay(TimeSpan.FromSeconds(2));
            }

            return (200, null);
        };

        string[] arguments =
        [
            $"--Tern:AdminKey={AdminKey}", "--Tern:Webhooks:AllowPrivateNetworks=true", "--Tern:Webhooks:ClaimSeconds=3",
            "--Tern:Webhooks:MaxConcurrencyPerEndpoint=4",
        ];
        List<string> eventIds;
        await using (var first = await TernProcess.StartAsync(_dataDir, null, arguments))
        {
            using var api = Client(first.BaseUrl);
            var subscribed = await api.PostAsJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }, ApiExtensions.Json);
            Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
            for (var i = 0; i < links; i++)
            {
                Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/api/v1/links", new { url = $"https://example.com/{i}" }, ApiExtensions.Json)).StatusCode);
            }

            eventIds = [.. (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?limit=100", ApiExtensions.Json))!.Items.Select(e => e.Id)];
            await slowBeforeCrash.Task.WaitAsync(TimeSpan.FromSeconds(10));
            first.Kill();
        }

        Assert.Equal(links, eventIds.Count);
        Assert.True(receiver.Received.Count < links, "the crash came before every delivery was answered");
        Volatile.Write(ref crashed, true);

        await using var second = await TernProcess.StartAsync(_dataDir, null, arguments);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (!eventIds.All(id => receiver.Received.Any(r => r.Id == id)))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline,
                $"{eventIds.Count(id => receiver.Received.All(r => r.Id != id))} committed events were never delivered");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static HttpClient Client(string baseUrl)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }
}
