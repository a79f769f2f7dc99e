using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Webhooks;

/// <summary>Tern with webhooks allowed to reach loopback receivers, quick retries and a short timeout.</summary>
public class WebhookTern : TernFactory
{
    /// <summary>Receivers on loopback, quick retries, a short timeout, a small per-endpoint budget, clicks written at once.</summary>
    public static readonly KeyValuePair<string, string?>[] FastWebhooks =
    [
        new("Tern:Webhooks:AllowPrivateNetworks", "true"),
        new("Tern:Webhooks:RetryDelaysSeconds", "1,1"),
        new("Tern:Webhooks:TimeoutSeconds", "3"),
        new("Tern:Webhooks:MaxConcurrencyPerEndpoint", "2"),
        new("Tern:Clicks:BatchWindowMilliseconds", "0"),
    ];

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => FastWebhooks;
}

public sealed class PostgresWebhookTern : PostgresTernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => WebhookTern.FastWebhooks;
}

public abstract class WebhookDeliveryTests(TernFactory tern)
{
    public const string Collection = "Webhook delivery (one provider at a time)";

    private const string IPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    private const string Slackbot = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";

    [Fact]
    public async Task DeliversASignedEventThatAnIndependentVerifierAccepts()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);

        var link = await api.CreateLinkAsync(new { url = "https://example.com/signed", slug = UniqueSlug() });
        var received = (await receiver.WaitForAsync(1)).Single();

        Assert.True(VerifiesPerSpecification(webhook.Secret!, received.Id, received.Timestamp, received.Body, received.Signature), received.Signature);
        var envelope = JsonNode.Parse(received.Body)!;
        Assert.Equal(received.Id, (string?)envelope["id"]);
        Assert.StartsWith("evt_", received.Id, StringComparison.Ordinal);
        Assert.Equal("link.created", (string?)envelope["type"]);
        Assert.Equal(link.Id, (string?)envelope["data"]!["link"]!["id"]);
        Assert.Equal(link.ShortUrl, (string?)envelope["data"]!["link"]!["shortUrl"]);
        Assert.InRange(long.Parse(received.Timestamp, System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());

        // The same event is in the log for polling integrations.
        var events = await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.created", Json);
        Assert.Contains(events!.Items, e => e.Id == received.Id && e.Data.Link!.Id == link.Id);
    }

    [Fact]
    public async Task AWebhookAddedOrWideningItsEventsGetsTheNextEventsOfTypesNoneTookBefore()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (api, clicksOnly) = await SubscribeAsync(receiver, ["link.clicked"]);
        await api.CreateLinkAsync(new { url = "https://example.com/before", slug = UniqueSlug() }); // no webhook takes link.created yet
        var known = tern.Get<Tern.Server.Webhooks.SubscribedEventTypes>();

        var added = await (await api.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        var first = await api.CreateLinkAsync(new { url = "https://example.com/after-add", slug = UniqueSlug() });
        Assert.Equal("link.created", (await WaitForDeliveryAsync(api, added.Id, d => d.EventType == "link.created")).EventType);

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/v1/webhooks/{added.Id}")).StatusCode);
        // On PostgreSQL the notice of a webhook change reaches this node's listener a moment after the change answered,
        // and clears what a fan-out read in between: create links until what one read is kept.
        var workspace = await WorkspaceOfAsync(first);
        var since = Stopwatch.StartNew();
        System.Collections.Frozen.FrozenSet<string>? types;
        do
        {
            await api.CreateLinkAsync(new { url = "https://example.com/after-delete", slug = UniqueSlug() });
        }
        while (!known.TryGet(workspace, out types) && since.Elapsed < TimeSpan.FromSeconds(5));

        Assert.True(types is not null, "the fan-out keeps what it read");
        Assert.Equal(["link.clicked"], types);

        var widened = await api.PatchAsJsonAsync($"/api/v1/webhooks/{clicksOnly.Id}", new { events = new[] { "link.clicked", "link.created" } }, Json);
        Assert.Equal(HttpStatusCode.OK, widened.StatusCode);
        var second = await api.CreateLinkAsync(new { url = "https://example.com/after-patch", slug = UniqueSlug() });
        var delivered = await WaitForAsync(async () =>
            (await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{clicksOnly.Id}/deliveries", Json))!.Items,
            items => items.Any(d => d.EventType == "link.created"));
        Assert.Single(delivered, d => d.EventType == "link.created"); // the link created before the change went to nobody
        var events = await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.created", Json);
        Assert.Equal(events!.Items.Single(e => e.Data.Link!.Id == second.Id).Id, delivered.Single(d => d.EventType == "link.created").EventId);
    }

    [Fact]
    public async Task WhereNoWebhookTakesLinkCreatedConcurrentCreatesOfOneSlugStillWriteOneLinkAndOneEvent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (api, clicksOnly) = await SubscribeAsync(receiver, ["link.clicked"]);
        var workspace = await WorkspaceOfAsync(await api.CreateLinkAsync(new { url = "https://example.com/first", slug = UniqueSlug() }));
        var known = tern.Get<Tern.Server.Webhooks.SubscribedEventTypes>();
        var since = Stopwatch.StartNew();
        while (!known.TryGet(workspace, out _) && since.Elapsed < TimeSpan.FromSeconds(5))
        {
            // On PostgreSQL the notice of the webhook's creation may clear what the first fan-out read.
            await api.CreateLinkAsync(new { url = "https://example.com/warm", slug = UniqueSlug() });
        }

        Assert.True(known.TryGet(workspace, out var types) && !types.Contains("link.created"), "the creations below go without a transaction");

        var slug = UniqueSlug();
        var body = new { url = "https://example.com/race", slug, tags = new[] { "race" } };
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => api.PostJsonAsync("/api/v1/links", body)));
        var conflicting = await api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/other", slug, tags = new[] { "other" } });

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        var id = Assert.Single((await Task.WhenAll(responses.Select(async r => (await r.ReadAsync<LinkResponse>()).Id))).Distinct());
        Assert.Equal(HttpStatusCode.Conflict, conflicting.StatusCode);
        var events = await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.created&limit=100", Json);
        Assert.Single(events!.Items, e => e.Data.Link!.Id == id);
        Assert.Equal([id], (await api.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links?tag=race", Json))!.Items.Select(l => l.Id));
        Assert.Empty((await api.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links?tag=other", Json))!.Items);
        Assert.Empty((await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{clicksOnly.Id}/deliveries", Json))!.Items);
    }

    private async Task<string> WorkspaceOfAsync(LinkResponse link)
    {
        await using var connection = await tern.Get<Tern.Server.Storage.Database>().OpenAsync(TestContext.Current.CancellationToken);
        return await Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, "SELECT workspace_id FROM links WHERE id = @id", new { id = link.Id }) ?? "";
    }

    [Fact]
    public async Task AClickReachesTheReceiverAndBotsOnlyWhereIncluded()
    {
        await using var humans = await WebhookReceiver.StartAsync();
        await using var everyone = await WebhookReceiver.StartAsync();
        var (api, humansHook) = await SubscribeAsync(humans, ["link.clicked"]);
        await api.PostJsonAsync("/api/v1/webhooks", new { url = everyone.Url, events = new[] { "link.clicked" }, includeBots = true });
        var link = await api.CreateLinkAsync(new { url = "https://example.com/click", slug = UniqueSlug() });

        await VisitAsync(link.Slug, Slackbot);
        await VisitAsync(link.Slug, IPhone);

        var human = (await humans.WaitForAsync(1)).Single();
        var envelope = JsonNode.Parse(human.Body)!;
        Assert.Equal("link.clicked", (string?)envelope["type"]);
        Assert.Equal("mobile", (string?)envelope["data"]!["click"]!["deviceCategory"]);
        Assert.False((bool)envelope["data"]!["click"]!["isBot"]!);
        Assert.Equal(link.Id, (string?)envelope["data"]!["link"]!["id"]);

        // Deliveries are queued in the transaction that stores the clicks: once the other endpoint has the bot click,
        // a delivery of it to this endpoint would already be in its log.
        var both = await everyone.WaitForAsync(2);
        Assert.Contains(both, r => r.Body.Contains("\"isBot\":true", StringComparison.Ordinal));
        var deliveries = await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{humansHook.Id}/deliveries", Json);
        Assert.Single(deliveries!.Items);
        Assert.Single(humans.Received);
    }

    [Fact]
    public async Task RetriesThroughAnOutageWithTheSameEventIdAndLogsEveryAttempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (n, _) => Task.FromResult((n <= 2 ? 503 : 200, (string?)null));
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);

        await api.CreateLinkAsync(new { url = "https://example.com/outage", slug = UniqueSlug() });
        var attempts = await receiver.WaitForAsync(3);

        Assert.Single(attempts.Select(a => a.Id).Distinct());
        var delivery = await WaitForDeliveryAsync(api, webhook.Id, d => d.Status == "succeeded");
        Assert.Equal(3, delivery.Attempts);
        Assert.Equal([503, 503, 200], delivery.AttemptLog!.Select(a => a.StatusCode ?? 0));
        Assert.Equal("thanks", delivery.AttemptLog![2].ResponseExcerpt);
        Assert.All(delivery.AttemptLog!, a => Assert.True(a.LatencyMs >= 0));
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromSeconds(0.9), "the retry waited for its delay");
    }

    [Fact]
    public async Task AnEndpointsStatsShowItsBacklogAndHowFastItHasBeenServed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var failing = false;
        receiver.Respond = (_, _) => Task.FromResult((Volatile.Read(ref failing) ? 503 : 200, (string?)null));
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);
        await api.CreateLinkAsync(new { url = "https://example.com/stats-1", slug = UniqueSlug() });
        await WaitForDeliveryAsync(api, webhook.Id, d => d.Status == "succeeded");

        Volatile.Write(ref failing, true);
        await api.CreateLinkAsync(new { url = "https://example.com/stats-2", slug = UniqueSlug() });
        await WaitForDeliveryAsync(api, webhook.Id, d => d is { Status: "pending", Attempts: >= 1 });
        var stats = await api.GetFromJsonAsync<WebhookStatsResponse>($"/api/v1/webhooks/{webhook.Id}/stats", Json);

        Assert.Equal(1, stats!.Pending);
        Assert.Equal(1, stats.SucceededLastMinute);
        Assert.True(stats.FailedLastMinute >= 1);
        Assert.NotNull(stats.OldestPendingAt);
        Assert.InRange(stats.OldestPendingAgeSeconds, 0, 60);
        Assert.InRange(stats.Concurrency!.Value, 1, 2);
        var unknown = await api.GetAsync("/api/v1/webhooks/wh_01JDQ7X1R5ZK3M8V0W2C4B6N9P/stats");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task MetricsShowEachEndpointsAttemptsAndBacklog()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (n, _) => Task.FromResult((n == 1 ? 200 : 503, (string?)null));
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);
        using var metrics = new WebhookMeterReader(webhook.Id);
        await api.CreateLinkAsync(new { url = "https://example.com/metrics-1", slug = UniqueSlug() });
        await WaitForDeliveryAsync(api, webhook.Id, d => d.Status == "succeeded");
        await api.CreateLinkAsync(new { url = "https://example.com/metrics-2", slug = UniqueSlug() });
        await WaitForDeliveryAsync(api, webhook.Id, d => d is { Status: "pending", Attempts: >= 1 });

        // The backlog is counted in storage in the background, at most every 5 s, so the gauge can take a few counts
        // to show the retry on a loaded machine.
        var seen = await WaitForAsync(() => Task.FromResult(metrics.Read()), m => m.ContainsKey("tern.webhooks.pending"), seconds: 60);

        Assert.Equal(1, seen["tern.webhooks.attempts/succeeded"]);
        Assert.True(seen["tern.webhooks.attempts/failed"] >= 1);
        Assert.Equal(1, seen["tern.webhooks.pending"]);
        Assert.True(seen["tern.webhooks.oldest_pending_age"] >= 0);
        Assert.InRange(seen["tern.webhooks.concurrency_limit"], 1, 2);
        Assert.InRange(seen["tern.webhooks.drain_pace"], Tern.Server.Webhooks.DrainPace.DefaultPerSecond / 6.0, Tern.Server.Webhooks.DrainPace.DefaultPerSecond); // a node's, whichever
    }

    [Fact]
    public async Task AnExhaustedDeliveryFailsAndCanBeRetriedByHand()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var healthy = false;
        receiver.Respond = (_, _) => Task.FromResult((Volatile.Read(ref healthy) ? 204 : 500, (string?)null));
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);
        await api.CreateLinkAsync(new { url = "https://example.com/dead", slug = UniqueSlug() });

        var failed = await WaitForDeliveryAsync(api, webhook.Id, d => d.Status == "failed");
        Assert.Equal(3, failed.Attempts);
        Assert.Null(failed.NextAttemptAt);

        Volatile.Write(ref healthy, true);
        var retry = await api.PostAsync($"/api/v1/webhooks/{webhook.Id}/deliveries/{failed.Id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var succeeded = await WaitForDeliveryAsync(api, webhook.Id, d => d.Id == failed.Id && d.Status == "succeeded");
        Assert.Equal(4, succeeded.Attempts);
        Assert.Single((await receiver.WaitForAsync(4)).Select(r => r.Id).Distinct());
    }

    [Fact]
    public async Task RetryAfterOnA429LengthensTheWait()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (n, _) => Task.FromResult(n == 1 ? (429, (string?)"3") : (200, null));
        var (api, webhook) = await SubscribeAsync(receiver, ["link.created"]);
        await api.CreateLinkAsync(new { url = "https://example.com/slow-down", slug = UniqueSlug() });

        var attempts = await receiver.WaitForAsync(2, TimeSpan.FromSeconds(20));
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromSeconds(2.9), $"retried after {(attempts[1].At - attempts[0].At).TotalSeconds} s");
        await WaitForDeliveryAsync(api, webhook.Id, d => d.Status == "succeeded");
    }

    [Fact]
    public async Task AHangingReceiverDoesNotDelayAnother()
    {
        await using var hanging = await WebhookReceiver.StartAsync();
        await using var healthy = await WebhookReceiver.StartAsync();
        hanging.Respond = async (_, _) =>
        {
            await Task.Delay(Timeout.Infinite);
            return (200, null);
        };
        var (api, stuck) = await SubscribeAsync(hanging, ["link.created"]);
        await api.PostJsonAsync("/api/v1/webhooks", new { url = healthy.Url, events = new[] { "link.created" } });

        for (var i = 0; i < 10; i++)
        {
            await api.CreateLinkAsync(new { url = $"https://example.com/{i}" });
        }

        // The healthy receiver has everything while the hanging one's first attempt has not even timed out yet.
        await healthy.WaitForAsync(10, TimeSpan.FromSeconds(10));
        var stuckLog = await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{stuck.Id}/deliveries", Json);
        Assert.All(stuckLog!.Items, d => Assert.Empty(d.AttemptLog ?? []));

        var timedOut = await WaitForDeliveryAsync(api, stuck.Id, d => d.AttemptLog!.Count > 0);
        Assert.Contains("Timed out", timedOut.AttemptLog![0].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FiltersByTagAndLinkAndSendsTheTestEvent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var api = await NewWorkspaceClientAsync();
        var tagged = await api.CreateLinkAsync(new { url = "https://example.com/t", tags = new[] { "vip" } });
        var other = await api.CreateLinkAsync(new { url = "https://example.com/o" });
        var webhook = await (await api.PostJsonAsync("/api/v1/webhooks",
            new { url = receiver.Url, events = new[] { "link.updated" }, filter = new { tags = new[] { "vip" } } })).ReadAsync<WebhookResponse>();

        await api.PatchAsJsonAsync($"/api/v1/links/{other.Id}", new { title = "ignored" }, Json);
        await api.PatchAsJsonAsync($"/api/v1/links/{tagged.Id}", new { title = "sent" }, Json);
        var test = await api.PostAsync($"/api/v1/webhooks/{webhook.Id}/test", null);
        Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);

        var received = await receiver.WaitForAsync(2);
        Assert.Contains(received, r => r.Body.Contains("\"type\":\"webhook.test\"", StringComparison.Ordinal));
        var updated = Assert.Single(received, r => r.Body.Contains("\"type\":\"link.updated\"", StringComparison.Ordinal));
        Assert.Contains(tagged.Id, updated.Body, StringComparison.Ordinal);
        Assert.Contains("\"title\":\"sent\"", updated.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinkLifecycleEmitsEveryEventTypeOnce()
    {
        var api = await NewWorkspaceClientAsync();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/life", maxClicks = 2 });
        await api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { title = "changed" }, Json);
        await api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { title = "changed" }, Json); // no change, no event
        await VisitAsync(link.Slug, IPhone);
        await VisitAsync(link.Slug, IPhone);
        await VisitAsync(link.Slug, IPhone); // past the limit: not a click, no second expiry
        await tern.Get<Tern.Server.Clicks.ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var expiring = await api.CreateLinkAsync(new { url = "https://example.com/soon", expiresAt = DateTimeOffset.UtcNow.AddSeconds(-1) });
        await tern.Get<Tern.Server.Links.ExpirySweeper>().SweepAsync(CancellationToken.None);
        await tern.Get<Tern.Server.Links.ExpirySweeper>().SweepAsync(CancellationToken.None);
        await api.DeleteAsync($"/api/v1/links/{link.Id}");

        var logged = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?limit=100", Json))!.Items;
        var events = logged.Where(e => e.Type != "link.clicked").ToList();
        Assert.Equal(["link.deleted", "link.expired", "link.created", "link.expired", "link.updated", "link.created"], events.Select(e => e.Type));
        Assert.Equal(expiring.Id, events[1].Data.Link!.Id);
        Assert.Equal(link.Id, events[3].Data.Link!.Id);
        Assert.Equal(2, events[3].Data.Link!.Clicks);

        // Clicks are in the log for polling and streams although nothing subscribes to them.
        var clicked = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.clicked", Json))!.Items;
        Assert.Equal(2, clicked.Count);
        Assert.All(clicked, e => Assert.Equal(link.Id, e.Data.Link!.Id));
    }

    [Theory]
    [InlineData("{\"url\": \"https://example.com/h\", \"events\": []}", "events")]
    [InlineData("{\"url\": \"https://example.com/h\", \"events\": [\"link.exploded\"]}", "events")]
    [InlineData("{\"url\": \"ftp://example.com/h\", \"events\": [\"link.created\"]}", "url")]
    [InlineData("{\"events\": [\"link.created\"]}", "url")]
    [InlineData("{\"url\": \"https://example.com/h\", \"events\": [\"link.created\"], \"filter\": {\"linkIds\": [\"nope\"]}}", "filter.linkIds")]
    public async Task InvalidSubscriptionsAnswer400(string body, string field)
    {
        var response = await tern.Api().PostAsync("/api/v1/webhooks", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    /// <summary>Standard Webhooks verification written from the specification, independent of Tern's signer.</summary>
    internal static bool VerifiesPerSpecification(string secret, string id, string timestamp, string body, string signatureHeader)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        return signatureHeader.Split(' ').Contains(expected);
    }

    protected async Task<(HttpClient Api, WebhookResponse Webhook)> SubscribeAsync(WebhookReceiver receiver, string[] events)
    {
        var api = await NewWorkspaceClientAsync();
        var response = await api.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events, description = "test receiver" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var webhook = await response.ReadAsync<WebhookResponse>();
        Assert.StartsWith("whsec_", webhook.Secret, StringComparison.Ordinal);
        return (api, webhook);
    }

    protected async Task<DeliveryResponse> WaitForDeliveryAsync(HttpClient api, string webhookId, Func<DeliveryResponse, bool> done) =>
        (await WaitForAsync(async () =>
            (await api.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{webhookId}/deliveries", Json))!.Items.FirstOrDefault(done),
            d => d is not null))!;

    protected static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done, int seconds = 20)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), "timed out waiting for the delivery log");
            await Task.Delay(50);
        }
    }

    private async Task VisitAsync(string slug, string userAgent)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/" + slug);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        await tern.Visitor().SendAsync(request);
    }

    private async Task<HttpClient> NewWorkspaceClientAsync()
    {
        var admin = tern.Api();
        var workspace = await (await admin.PostJsonAsync("/api/v1/workspaces", new { name = "hooks" })).ReadAsync<WorkspaceResponse>();
        var key = await (await admin.PostJsonAsync("/api/v1/keys",
                new { name = "k", scopes = new[] { "links:read", "links:write", "webhooks:read", "webhooks:write" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        return tern.Api(key.Key);
    }
}

// The metrics test reads Tern's process-wide meter; side by side, the two providers' hosts read each other's instruments
// (and refresh each other's counted backlogs) in ways that made it time out, so the two classes take turns.
[Collection(WebhookDeliveryTests.Collection)]
public sealed class WebhookDeliveryTestsOnSqlite(WebhookTern tern) : WebhookDeliveryTests(tern), IClassFixture<WebhookTern>;

[Collection(WebhookDeliveryTests.Collection)]
public sealed class WebhookDeliveryTestsOnPostgres(PostgresWebhookTern tern) : WebhookDeliveryTests(tern), IClassFixture<PostgresWebhookTern>;

/// <summary>Webhook servers on a clock the test moves, started a day in the past so that moving it stays before now.</summary>
public sealed class ClockedWebhookTern : WebhookTern
{
    public ClockedWebhookTern() => Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-2));
}

public sealed class PostgresClockedWebhookTern : PostgresTernFactory
{
    public PostgresClockedWebhookTern() => Clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-2));

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => WebhookTern.FastWebhooks;
}

public abstract class WebhookRotationTests(TernFactory tern)
{
    [Fact]
    public async Task AfterARotationBothSecretsSignUntilTheOverlapEnds()
    {
        var clock = tern.Clock!;
        await using var receiver = await WebhookReceiver.StartAsync();
        var api = tern.Api();
        var webhook = await (await api.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        var rotated = await (await api.PostAsync($"/api/v1/webhooks/{webhook.Id}/rotate-secret", null)).ReadAsync<WebhookResponse>();
        Assert.NotEqual(webhook.Secret, rotated.Secret);
        Assert.Equal(clock.GetUtcNow().AddHours(24), rotated.PreviousSecretExpiresAt!.Value, TimeSpan.FromSeconds(1));

        await api.CreateLinkAsync(new { url = "https://example.com/rotated" });
        var during = await receiver.WaitForAsync(r => r.Body.Contains("/rotated\"", StringComparison.Ordinal));
        Assert.Equal(2, during.Signature.Split(' ').Length);
        Assert.True(WebhookDeliveryTests.VerifiesPerSpecification(rotated.Secret!, during.Id, during.Timestamp, during.Body, during.Signature));
        Assert.True(WebhookDeliveryTests.VerifiesPerSpecification(webhook.Secret!, during.Id, during.Timestamp, during.Body, during.Signature));

        clock.Advance(TimeSpan.FromHours(23.9));
        await api.CreateLinkAsync(new { url = "https://example.com/rotated-late" });
        var late = await receiver.WaitForAsync(r => r.Body.Contains("/rotated-late", StringComparison.Ordinal));
        Assert.True(WebhookDeliveryTests.VerifiesPerSpecification(webhook.Secret!, late.Id, late.Timestamp, late.Body, late.Signature));

        clock.Advance(TimeSpan.FromHours(0.2));
        await api.CreateLinkAsync(new { url = "https://example.com/rotated-after" });
        var after = await receiver.WaitForAsync(r => r.Body.Contains("/rotated-after", StringComparison.Ordinal));
        Assert.Single(after.Signature.Split(' '));
        Assert.True(WebhookDeliveryTests.VerifiesPerSpecification(rotated.Secret!, after.Id, after.Timestamp, after.Body, after.Signature));
        Assert.False(WebhookDeliveryTests.VerifiesPerSpecification(webhook.Secret!, after.Id, after.Timestamp, after.Body, after.Signature));
    }
}

public sealed class WebhookRotationTestsOnSqlite(ClockedWebhookTern tern) : WebhookRotationTests(tern), IClassFixture<ClockedWebhookTern>;

public sealed class WebhookRotationTestsOnPostgres(PostgresClockedWebhookTern tern) : WebhookRotationTests(tern), IClassFixture<PostgresClockedWebhookTern>;

/// <summary>A server that gives up on a failing endpoint after under two seconds instead of five days.</summary>
public sealed class ImpatientWebhookTern : WebhookTern
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. base.Settings, new("Tern:Webhooks:DisableAfterDays", "0.00002"), new("Tern:Webhooks:RetryDelaysSeconds", "1,1,1,1,1")];
}

public sealed class PostgresImpatientWebhookTern : PostgresTernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [.. WebhookTern.FastWebhooks, new("Tern:Webhooks:DisableAfterDays", "0.00002"), new("Tern:Webhooks:RetryDelaysSeconds", "1,1,1,1,1")];
}

public sealed class WebhookAutoDisableTestsOnSqlite(ImpatientWebhookTern tern) : WebhookAutoDisableTests(tern), IClassFixture<ImpatientWebhookTern>;

public sealed class WebhookAutoDisableTestsOnPostgres(PostgresImpatientWebhookTern tern) : WebhookAutoDisableTests(tern), IClassFixture<PostgresImpatientWebhookTern>;

public abstract class WebhookAutoDisableTests(TernFactory tern)
{
    [Fact]
    public async Task AnEndpointFailingWithoutSuccessPastTheLimitIsDisabledWithTheReason()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Respond = (_, _) => Task.FromResult((500, (string?)null));
        var api = tern.Api();
        var webhook = await (await api.PostJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        await api.CreateLinkAsync(new { url = "https://example.com/failing" });
        await receiver.WaitForAsync(2);

        var clock = Stopwatch.StartNew();
        WebhookResponse? current;
        while ((current = await api.GetFromJsonAsync<WebhookResponse>($"/api/v1/webhooks/{webhook.Id}", Json))!.Enabled)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the failing endpoint was never disabled");
            await Task.Delay(50);
        }

        Assert.Contains("no successful delivery", current.DisabledReason, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", current.DisabledReason, StringComparison.Ordinal);
        Assert.NotNull(current.FailingSince);

        var enabled = await (await api.PatchAsJsonAsync($"/api/v1/webhooks/{webhook.Id}", new { enabled = true }, Json)).ReadAsync<WebhookResponse>();
        Assert.True(enabled.Enabled);
        Assert.Null(enabled.DisabledReason);
        Assert.Null(enabled.FailingSince);
    }
}

/// <summary>A server that keeps webhooks off private networks, as in production.</summary>
public sealed class GuardedTern : TernFactory;

public sealed class WebhookSsrfTests(GuardedTern tern) : IClassFixture<GuardedTern>
{
    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://localhost/hook")]
    [InlineData("http://10.0.0.7/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://[::ffff:127.0.0.1]/hook")]
    [InlineData("http://user:pw@example.com/hook")]
    public async Task SubscriptionsToPrivateOrLoopbackAddressesAreRefused(string url)
    {
        var response = await tern.Api().PostJsonAsync("/api/v1/webhooks", new { url, events = new[] { "link.created" } });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["url"]);
    }
}
