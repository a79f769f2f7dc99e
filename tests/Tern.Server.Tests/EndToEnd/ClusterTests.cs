using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.EndToEnd;

/// <summary>
/// Two real Tern processes on one real PostgreSQL (a cluster of this class's own, since one test stops and starts
/// it), with a real webhook receiver: what users of a load-balanced deployment rely on.
/// </summary>
public sealed partial class ClusterTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    /// <summary>
    /// Longest a change may take to reach the other node's cache here: far above the milliseconds it takes (see
    /// bench/README.md), so a loaded machine does not fail the test, and below the ten seconds after which a
    /// remembered miss is forgotten anyway. A cached link has no expiry, so without the notice it would never change.
    /// </summary>
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(5);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LinkCreatedOnOneNodeRedirectsOnTheOther()
    {
        var (a, b) = cluster.Nodes();
        var slug = ApiExtensions.UniqueSlug("both");
        await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/made-on-a", slug });

        var redirect = await cluster.Visitor(b).GetAsync($"/{slug}", Cancel);

        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal("https://example.com/made-on-a", redirect.Headers.Location?.ToString());
    }

    [Fact]
    public async Task ASlugUnknownOnOneNodeRedirectsThereAsSoonAsTheOtherCreatesIt()
    {
        var (a, b) = cluster.Nodes();
        var slug = ApiExtensions.UniqueSlug("soon");
        Assert.Equal(HttpStatusCode.NotFound, (await cluster.Visitor(b).GetAsync($"/{slug}", Cancel)).StatusCode); // B remembers the miss

        await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/made-after-a-miss", slug });

        // Well before the miss would be forgotten on its own (Tern:Cache:MissSeconds, 10 s).
        var since = Stopwatch.StartNew();
        while ((await cluster.Visitor(b).GetAsync($"/{slug}", Cancel)).StatusCode != HttpStatusCode.Found)
        {
            Assert.True(since.Elapsed < Propagation, $"B still answers 404 {since.ElapsedMilliseconds} ms after the link was made on A");
            await Task.Delay(5, Cancel);
        }
    }

    [Fact]
    public async Task ChangesOnOneNodeReachTheOtherNodesCacheAtOnce()
    {
        var (a, b) = cluster.Nodes();
        var slug = ApiExtensions.UniqueSlug("moves");
        var link = await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/v0", slug });
        var visitor = cluster.Visitor(b);
        Assert.Equal("https://example.com/v0", await LocationAsync(visitor, slug)); // B now holds the link in its cache

        var delays = new List<double>();
        for (var version = 1; version <= 15; version++)
        {
            var url = $"https://example.com/v{version}";
            var patched = await cluster.Api(a).PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url }, ApiExtensions.Json, Cancel);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            var since = Stopwatch.StartNew();
            while (await LocationAsync(visitor, slug) != url)
            {
                Assert.True(since.Elapsed < Propagation, $"B still serves the old destination {since.ElapsedMilliseconds} ms after the change");
            }

            delays.Add(since.Elapsed.TotalMilliseconds);
        }

        // Deleting on A is seen on B too.
        Assert.Equal(HttpStatusCode.NoContent, (await cluster.Api(a).DeleteAsync($"/api/v1/links/{link.Id}", Cancel)).StatusCode);
        await Eventually(async () => (await visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{slug}"), Cancel)).StatusCode == HttpStatusCode.NotFound,
            Propagation, "B still serves a link deleted on A");

        delays.Sort();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Change on A seen on B after (ms, {delays.Count} changes): median {delays[delays.Count / 2]:F1}, max {delays[^1]:F1}");
    }

    [Fact]
    public async Task ARuleChangedOnOneNodeDecidesTheOthersRedirects()
    {
        var (a, b) = cluster.Nodes();
        var slug = ApiExtensions.UniqueSlug("rules");
        var link = await cluster.Api(a).CreateLinkAsync(new
        {
            url = "https://example.com/everyone",
            slug,
            rules = new[] { new { when = new { query = new Dictionary<string, string> { ["lang"] = "de" } }, url = "https://example.com/de" } },
        });
        var visitor = cluster.Visitor(b);
        Assert.Equal("https://example.com/de?lang=de", (await visitor.GetAsync($"/{slug}?lang=de", Cancel)).Headers.Location?.ToString()); // cached on B

        var patched = await cluster.Api(a).PatchAsJsonAsync($"/api/v1/links/{link.Id}", new
        {
            rules = new[] { new { when = new { query = new Dictionary<string, string> { ["lang"] = "de" } }, url = "https://example.com/deutsch" } },
        }, ApiExtensions.Json, Cancel);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);

        await Eventually(async () => (await visitor.GetAsync($"/{slug}?lang=de", Cancel)).Headers.Location?.ToString() == "https://example.com/deutsch?lang=de",
            Propagation, "B still follows the rule as it was before the change on A");
        Assert.Equal("https://example.com/everyone", await LocationAsync(visitor, slug));
    }

    [Fact]
    public async Task AKeyRevokedOnOneNodeIsRefusedByTheOther()
    {
        var (a, b) = cluster.Nodes();
        var created = await (await cluster.Api(a).PostJsonAsync("/api/v1/keys", new { name = "revoked on A", scopes = new[] { "links:read" } }))
            .ReadAsync<CreatedKeyResponse>();
        var onB = cluster.Visitor(b);
        onB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Key);
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/api/v1/links", Cancel)).StatusCode); // B now holds the key in memory

        Assert.Equal(HttpStatusCode.NoContent, (await cluster.Api(a).DeleteAsync($"/api/v1/keys/{created.Id}", Cancel)).StatusCode);

        var since = Stopwatch.StartNew();
        while ((await onB.GetAsync("/api/v1/links", Cancel)).StatusCode != HttpStatusCode.Unauthorized)
        {
            Assert.True(since.Elapsed < Propagation, $"B still accepts a key revoked on A {since.ElapsedMilliseconds} ms later");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"B refused the key {since.Elapsed.TotalMilliseconds:F1} ms after A revoked it");
    }

    [Fact]
    public async Task AWebhookAddedOnOneNodeGetsTheOtherNodesNextEvents()
    {
        var (a, b) = cluster.Nodes();
        var workspace = await (await cluster.Api(a).PostJsonAsync("/api/v1/workspaces", new { name = "hooks across nodes" })).ReadAsync<WorkspaceResponse>();
        var key = await (await cluster.Api(a).PostJsonAsync("/api/v1/keys",
                new { name = "hooks", scopes = new[] { "links:write", "webhooks:read", "webhooks:write" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        var (onA, onB) = (cluster.Visitor(a), cluster.Visitor(b));
        onA.DefaultRequestHeaders.Authorization = onB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
        // B learns that no webhook of the workspace takes link.created, and stops reading its subscriptions for it.
        await onB.CreateLinkAsync(new { url = "https://example.com/before-the-hook", slug = ApiExtensions.UniqueSlug("hook") });

        var hook = await (await onA.PostJsonAsync("/api/v1/webhooks", new { url = cluster.Receiver.Url, events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();

        // A delivery is stored in the transaction of its event, so it is listed once the creation has answered.
        var since = Stopwatch.StartNew();
        var missed = 0;
        while (true)
        {
            await onB.CreateLinkAsync(new { url = "https://example.com/after-the-hook", slug = ApiExtensions.UniqueSlug("hook") });
            var deliveries = await onA.GetFromJsonAsync<ListResponse<DeliveryResponse>>($"/api/v1/webhooks/{hook.Id}/deliveries", ApiExtensions.Json, Cancel);
            if (deliveries!.Items.Count > 0)
            {
                break;
            }

            missed++;
            Assert.True(since.Elapsed < Propagation, $"B still gives a webhook added on A nothing {since.ElapsedMilliseconds} ms later");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"Links created on B before one reached the webhook added on A: {missed} ({since.Elapsed.TotalMilliseconds:F1} ms)");
    }

    [Fact]
    public async Task ClickLimitReachedOnOneNodeStopsTheOther()
    {
        var (a, b) = cluster.Nodes();
        var link = await cluster.Api(a).CreateLinkAsync(new
        {
            url = "https://example.com/limited",
            slug = ApiExtensions.UniqueSlug("limit"),
            maxClicks = 10,
            expiredUrl = "https://example.com/sold-out",
        });
        var (visitorA, visitorB) = (cluster.Visitor(a), cluster.Visitor(b));
        Assert.Equal("https://example.com/limited", await LocationAsync(visitorB, link.Slug)); // B holds it, with a tally of 0

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("https://example.com/limited", (await visitorA.GetAsync($"/{link.Slug}", Cancel)).Headers.Location?.ToString());
        }

        Assert.Equal("https://example.com/sold-out", (await visitorA.GetAsync($"/{link.Slug}", Cancel)).Headers.Location?.ToString());
        // Once A's batch stores the tenth click it marks the link expired; B hears of it and stops too, though it
        // counted none of those clicks itself.
        await Eventually(async () => await LocationAsync(visitorB, link.Slug) == "https://example.com/sold-out",
            TimeSpan.FromSeconds(5), "B still sends visitors to a link whose limit was reached on A");
        Assert.Equal(10, (await cluster.Api(b).GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json, Cancel))!.Clicks);
    }

    [Fact]
    public async Task ClicksOnBothNodesAreCountedOnceAndEachWebhookArrivesOnce()
    {
        const int clicks = 200;
        var (a, b) = cluster.Nodes();
        var link = await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/counted", slug = ApiExtensions.UniqueSlug("count") });
        var subscribed = await cluster.Api(b).PostJsonAsync("/api/v1/webhooks",
            new { url = cluster.Receiver.Url, events = new[] { "link.clicked" }, filter = new { linkIds = new[] { link.Id } } });
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
        var webhook = await subscribed.ReadAsync<WebhookResponse>();

        var (visitorA, visitorB) = (cluster.Visitor(a), cluster.Visitor(b));
        await Parallel.ForAsync(0, clicks, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Cancel }, async (i, token) =>
        {
            var answer = await (i % 2 == 0 ? visitorA : visitorB).GetAsync($"/{link.Slug}", token);
            Assert.Equal(HttpStatusCode.Found, answer.StatusCode);
        });

        await Eventually(async () => (await cluster.Api(a).GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json, Cancel))!.Clicks >= clicks,
            TimeSpan.FromSeconds(30), "the clicks were not all stored");
        var stored = await cluster.Api(b).GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json, Cancel);
        Assert.Equal(clicks, stored!.Clicks);
        // The rollups follow the stored clicks within a second or so, whichever node folds them.
        await Eventually(async () => (await cluster.Api(a).GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json, Cancel))!.Total >= clicks,
            TimeSpan.FromSeconds(30), "the stats do not count every click");
        var stats = await cluster.Api(b).GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json, Cancel);
        Assert.Equal(clicks, stats!.Total);

        // A succeeded delivery is never sent again, so once all are succeeded the receiver's count is final.
        var deliveries = new List<DeliveryResponse>();
        await Eventually(async () =>
        {
            deliveries = [.. (await cluster.Api(a).GetFromJsonAsync<ListResponse<DeliveryResponse>>(
                $"/api/v1/webhooks/{webhook.Id}/deliveries?limit=1000", ApiExtensions.Json, Cancel))!.Items];
            return deliveries.Count == clicks && deliveries.All(d => d.Status == "succeeded");
        }, TimeSpan.FromSeconds(60), "not every click's webhook was delivered");
        var received = cluster.Receiver.Received.Where(r => r.Body.Contains(link.Id, StringComparison.Ordinal)).ToList();
        Assert.Equal(clicks, received.Count);
        Assert.Equal(clicks, received.Select(r => r.Id).Distinct().Count());
        Assert.Equal(deliveries.Select(d => d.EventId).Order(), received.Select(r => r.Id).Order());
        Assert.All(deliveries, d => Assert.Equal(1, d.Attempts));
    }

    [Fact]
    public async Task PeriodicJobsRunOncePerPeriodAcrossTheNodes()
    {
        var (a, b) = cluster.Nodes();
        var (fromA, fromB) = (a.Output.Length, b.Output.Length);
        List<(string Node, string Job, long At)> runs = [];
        await Eventually(() =>
        {
            runs = [.. JobRuns("A", a.Output[fromA..]).Concat(JobRuns("B", b.Output[fromB..]))];
            return Task.FromResult(runs.Count(r => r.Job == "expiry sweep") >= 8 && runs.Count(r => r.Job == "maintenance") >= 3);
        }, TimeSpan.FromSeconds(40), "the periodic jobs did not run");

        // Each node ticks every period on its own timer; between them a job still runs once per period (the claims
        // are at least 0.9 periods apart on the database's clock, a tenth being slack for timers drifting).
        foreach (var (job, period) in new[] { ("expiry sweep", ClusterFixture.SweepSeconds * 1000), ("maintenance", ClusterFixture.MaintenanceSeconds * 1000) })
        {
            var starts = runs.Where(r => r.Job == job).OrderBy(r => r.At).ToList();
            var gaps = starts.Zip(starts.Skip(1), (x, y) => y.At - x.At).ToList();
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{job}: {starts.Count} runs ({starts.Count(r => r.Node == "A")} on A, {starts.Count(r => r.Node == "B")} on B), gaps {string.Join(", ", gaps)} ms");
            Assert.All(gaps, gap => Assert.True(gap >= period * 9 / 10, $"{job} ran twice within {gap} ms (period {period} ms)"));
        }
    }

    [Fact]
    public async Task NodesRideOutAPostgresRestart()
    {
        var (a, b) = cluster.Nodes();
        var link = await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/outage", slug = ApiExtensions.UniqueSlug("outage") });
        var (visitorA, visitorB) = (cluster.Visitor(a), cluster.Visitor(b));
        // The creation's announcement must not arrive after the link is loaded, or it would drop it again.
        await HeardEverythingSoFarAsync(a, b);
        Assert.Equal("https://example.com/outage", await LocationAsync(visitorA, link.Slug)); // cached on both nodes
        Assert.Equal("https://example.com/outage", await LocationAsync(visitorB, link.Slug));

        cluster.Postgres.StopServer();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                foreach (var visitor in new[] { visitorA, visitorB })
                {
                    var answer = await visitor.GetAsync($"/{link.Slug}", Cancel);
                    Assert.Equal(HttpStatusCode.Found, answer.StatusCode);
                    Assert.Equal("https://example.com/outage", answer.Headers.Location?.ToString());
                }
            }

            foreach (var node in new[] { a, b })
            {
                await (await cluster.Api(node).GetAsync($"/api/v1/links/{link.Id}", Cancel))
                    .AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
                await (await cluster.Api(node).PostJsonAsync("/api/v1/links", new { url = "https://example.com/during-outage" }))
                    .AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
                await (await cluster.Visitor(node).GetAsync("/readyz", Cancel))
                    .AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
                Assert.Equal(HttpStatusCode.OK, (await cluster.Visitor(node).GetAsync("/healthz", Cancel)).StatusCode);
            }
        }
        finally
        {
            cluster.Postgres.StartServer();
        }

        foreach (var node in new[] { a, b })
        {
            await Eventually(async () => (await cluster.Visitor(node).GetAsync("/readyz", Cancel)).StatusCode == HttpStatusCode.OK,
                TimeSpan.FromSeconds(30), "a node did not become ready again");
        }

        // The clicks answered during the outage were held and are stored now.
        await Eventually(async () =>
        {
            var answer = await cluster.Api(b).GetAsync($"/api/v1/links/{link.Id}", Cancel);
            return answer.IsSuccessStatusCode && (await answer.ReadAsync<LinkResponse>()).Clicks == 20;
        }, TimeSpan.FromSeconds(30), "clicks answered during the outage were not stored");

        // Both nodes serve and hear each other's changes again, without a restart.
        var after = await CreateEventuallyAsync(b, new { url = "https://example.com/after-outage", slug = ApiExtensions.UniqueSlug("after") });
        Assert.Equal("https://example.com/after-outage", await LocationAsync(visitorA, after.Slug));
        var patched = await cluster.Api(b).PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url = "https://example.com/moved" }, ApiExtensions.Json, Cancel);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        await Eventually(async () => await LocationAsync(visitorA, link.Slug) == "https://example.com/moved",
            Propagation, "A did not hear of a change made on B after the restart");
    }

    /// <summary>
    /// Returns once each node has heard every link change committed before the call. Announcements reach a node in
    /// commit order, so it has once it serves a change made after them on the other node (which it cached before).
    /// </summary>
    private async Task HeardEverythingSoFarAsync(TernProcess a, TernProcess b)
    {
        var barrier = await cluster.Api(a).CreateLinkAsync(new { url = "https://example.com/barrier/0", slug = ApiExtensions.UniqueSlug("barrier") });
        var version = 0;
        foreach (var (changer, hearer) in new[] { (b, a), (a, b) })
        {
            Assert.NotNull(await LocationAsync(cluster.Visitor(hearer), barrier.Slug));
            var url = $"https://example.com/barrier/{++version}";
            var patched = await cluster.Api(changer).PatchAsJsonAsync($"/api/v1/links/{barrier.Id}", new { url }, ApiExtensions.Json, Cancel);
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            await Eventually(async () => await LocationAsync(cluster.Visitor(hearer), barrier.Slug) == url, TimeSpan.FromSeconds(5),
                "a node did not hear a change made on the other");
        }
    }

    /// <summary>The first requests after a restart may meet pooled connections the restart broke; they answer 503.</summary>
    private async Task<LinkResponse> CreateEventuallyAsync(TernProcess node, object body)
    {
        LinkResponse? created = null;
        await Eventually(async () =>
        {
            var answer = await cluster.Api(node).PostJsonAsync("/api/v1/links", body);
            created = answer.StatusCode == HttpStatusCode.Created ? await answer.ReadAsync<LinkResponse>() : null;
            return created is not null;
        }, TimeSpan.FromSeconds(20), "creating a link did not succeed after the restart");
        return created!;
    }

    private static async Task<string?> LocationAsync(HttpClient visitor, string slug)
    {
        using var head = await visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/{slug}"), Cancel);
        return head.Headers.Location?.ToString();
    }

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan within, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < within, failure);
            await Task.Delay(20, Cancel);
        }
    }

    private static IEnumerable<(string Node, string Job, long At)> JobRuns(string node, string output) =>
        JobStarted().Matches(output).Select(m => (node, m.Groups[1].Value, long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"Cluster job (.+?) ran on this node for the period claimed at (\d+)")]
    private static partial Regex JobStarted();
}

/// <summary>A dedicated PostgreSQL, a webhook receiver and two Tern processes sharing the database.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int SweepSeconds = 1;
    public const int MaintenanceSeconds = 2;
    private const string AdminKey = "tern_ClusterTestAdminKey000000000000";

    private readonly List<string> _dataDirs = [];
    private DedicatedPostgresCluster? _postgres;
    private TernProcess? _a;
    private TernProcess? _b;
    private WebhookReceiver? _receiver;

    public PostgresCluster Postgres => _postgres?.Cluster ?? throw new InvalidOperationException("No PostgreSQL.");

    public WebhookReceiver Receiver => _receiver!;

    /// <summary>The two nodes; skips (or fails under TERN_REQUIRE_POSTGRES=1) when PostgreSQL cannot run here.</summary>
    public (TernProcess A, TernProcess B) Nodes()
    {
        if (_a is null || _b is null)
        {
            PostgresBackend.SkipOrFailForMissingPostgres();
        }

        return (_a, _b);
    }

    public HttpClient Api(TernProcess node)
    {
        var client = Visitor(node);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    public HttpClient Visitor(TernProcess node) =>
        new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(node.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask InitializeAsync()
    {
        _postgres = await PostgresCluster.StartDedicatedAsync();
        if (_postgres is null)
        {
            return;
        }

        var connectionString = _postgres.Cluster.ConnectionString(await _postgres.Cluster.CreateDatabaseAsync());
        _receiver = await WebhookReceiver.StartAsync();
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Tern"] = connectionString };
        // The nodes share one Data Protection key ring, as a cluster must, so each can read the secrets the other stored.
        var keyRing = Directory.CreateTempSubdirectory("tern-cluster-keys-").FullName;
        _dataDirs.Add(keyRing);
        string[] arguments =
        [
            $"--Tern:DataProtection:KeysPath={keyRing}", "--Tern:Database:Provider=postgres", $"--Tern:AdminKey={AdminKey}", "--Tern:BaseUrl=http://go.test",
            "--Tern:Webhooks:AllowPrivateNetworks=true", "--Tern:RateLimit:Burst=1000000", "--Tern:RateLimit:PerSecond=1000000",
            $"--Tern:Maintenance:ExpirySweepSeconds={SweepSeconds}", $"--Tern:Maintenance:IntervalSeconds={MaintenanceSeconds}",
            "--Logging:LogLevel:Tern.Server.Links.ExpirySweeper=Debug", "--Logging:LogLevel:Tern.Server.Hosting.MaintenanceService=Debug",
        ];
        // Started together, so that both migrate the empty database at once.
        var nodes = await Task.WhenAll(Start(), Start());
        (_a, _b) = (nodes[0], nodes[1]);

        Task<TernProcess> Start()
        {
            var dataDir = Directory.CreateTempSubdirectory("tern-cluster-").FullName;
            _dataDirs.Add(dataDir);
            return TernProcess.StartAsync(dataDir, environment, arguments);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in new[] { _a, _b })
        {
            if (node is not null)
            {
                await node.DisposeAsync();
            }
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }

        _postgres?.Dispose();
        foreach (var dataDir in _dataDirs)
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
