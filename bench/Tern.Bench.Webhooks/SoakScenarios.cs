using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Links;
using Tern.Server.Redirect;

namespace Tern.Bench.Webhooks;

/// <summary>
/// What a soak or burst run is given: clicks/s and seconds, links, in-flight bound and drain deadline; with
/// <see cref="Cold"/>, the node forgets the links it created before the clicks start, as a node that did not create them.
/// </summary>
internal sealed record SoakSettings(int Rate, int Seconds, int Links, int MaxInFlight, int CreatesPerSecond, TimeSpan Deadline, bool Cold = false);

internal sealed record SoakResult(
    string Backend, int Endpoints, SoakSettings Settings, long Sent, long Answered, long Skipped, long Failed, long Expected,
    long Delivered, long Duplicates, long BadSignatures, double? DrainSeconds, double LagP50, double LagP99, double RedirectP50,
    double RedirectP99, double LateP50, double LateP99, double CreateP50, double CreateP99, int Created, long CreateFailures, double RssBeforeMiB, double RssMaxMiB, CpuShare Cpu,
    int BusyBefore, IReadOnlyList<SoakRow> Rows, DrainRates Drain);

internal sealed record BurstResult(
    string Backend, int Endpoints, int Clicks, int Links, double EnqueuedSeconds, double CommittedSeconds, long Expected,
    long Delivered, long Duplicates, long BadSignatures, double? DeliveredSeconds, double LagP50, double LagP99, double RssMaxMiB,
    CpuShare Cpu, int BusyBefore, IReadOnlyList<SoakRow> Rows, DrainRates Drain);

internal sealed record BacklogResult(
    string Backend, int Endpoints, int Clicks, int Links, double StoredSeconds, long Expected, long Delivered, long Duplicates,
    long BadSignatures, double? DeliveredSeconds, double RssMaxMiB, CpuShare Cpu, int BusyBefore, IReadOnlyList<SoakRow> Rows, DrainRates Drain,
    double CreateP50, double CreateP99, int Created, long CreateFailures, RedirectProbe? Redirects);

/// <summary>
/// Browser redirects at a fixed rate to links of a workspace without webhooks, on the node that only stores (before the
/// drain) and on the node that drains: what the drain costs redirects, with nothing added to what is owed.
/// </summary>
internal sealed record RedirectProbe(int Rate, int Links, double BeforeP50, double BeforeP99, long BeforeAnswered, long BeforeFailed,
    double DuringP50, double DuringP99, long DuringAnswered, long DuringFailed, double DuringSeconds);

/// <summary>
/// Campaign-volume webhook delivery: browser clicks at a fixed rate for minutes (real redirects over HTTP, open
/// loop) to links created in bulk, every click a <c>link.clicked</c> event for each of the endpoints, with a link
/// being created now and then through the API; or a burst of clicks enqueued at once, and its drain.
/// </summary>
internal static class SoakScenarios
{
    private const int WarmupClicks = 50;

    public static async Task<SoakResult> SoakAsync(Backend backend, int endpoints, SoakSettings settings)
    {
        Machine.Log($"soak: {backend.Name}, {endpoints} endpoint(s), {settings.Rate} clicks/s for {settings.Seconds} s over {settings.Links:N0} links");
        var ledger = new SoakLedger(endpoints);
        await using var host = await BenchHost.StartAsync(backend, ["--Tern:Webhooks:AllowPrivateNetworks=true"]);
        await using var receiver = await Receiver.StartAsync(readReferrer: false, observer: ledger.Observe);
        var slugs = (await CreateLinksAsync(host, settings.Links)).Select(l => l.Slug).ToList();
        await SubscribeAsync(host, receiver, endpoints);
        if (settings.Cold)
        {
            host.Get<LinkCache>().Clear();
        }

        using var client = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            MaxConnectionsPerServer = settings.MaxInFlight,
        })
        {
            BaseAddress = new Uri(host.BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };

        // Warm-up: JIT, connections and the dispatcher; its deliveries are not counted.
        var warmup = new ClickGenerator(client, slugs, rate: 100, settings.MaxInFlight, seed: 5);
        await warmup.RunAsync(TimeSpan.FromSeconds(WarmupClicks / 100.0));
        await WebhookScenarios.WaitForAsync(() => ledger.Delivered >= warmup.Answered * endpoints, TimeSpan.FromSeconds(60));
        if (ledger.Delivered < warmup.Answered * endpoints)
        {
            Machine.Log($"  only {ledger.Delivered} of the warm-up's {warmup.Answered * endpoints} deliveries arrived within 60 s; the rest may count in the run");
        }

        ledger.Reset();
        var busy = await Machine.WaitQuietAsync("webhook soak");
        var rssBefore = Machine.RssMiB();

        var clicks = new ClickGenerator(client, slugs, settings.Rate, settings.MaxInFlight, seed: 17);
        var creator = new LinkCreator(host.Http, settings.CreatesPerSecond);
        var monitor = new SoakMonitor(ledger, () => clicks.Answered * endpoints, clicks, creator);
        var cpu0 = Machine.SampleCpu();
        using (var stopCreating = new CancellationTokenSource())
        {
            var creating = creator.RunAsync(stopCreating.Token);
            await monitor.WatchAsync(clicks.RunAsync(TimeSpan.FromSeconds(settings.Seconds)), "soak");
            await stopCreating.CancelAsync();
            await creating;
        }

        var stoppedAt = Stopwatch.GetTimestamp();
        var drain = await monitor.DrainAsync(settings.Deadline, "drain");
        var cpu = CpuSample.CoresBetween(cpu0, Machine.SampleCpu());
        var expected = clicks.Answered * endpoints;
        double? drainSeconds = ledger.Delivered >= expected ? Math.Max(0, Stopwatch.GetElapsedTime(stoppedAt, ledger.LastAt).TotalSeconds) : null;
        var lags = monitor.Lags.ToList();
        var redirects = clicks.Latency.All();
        var late = clicks.Late.All();
        var created = creator.Latency.All();
        var result = new SoakResult(backend.Name, endpoints, settings, clicks.Sent, clicks.Answered, clicks.Skipped, clicks.Failed, expected,
            ledger.Delivered, ledger.Duplicates, receiver.BadSignatures, drainSeconds, Percentiles.Of(lags, 50), Percentiles.Of(lags, 99),
            Percentiles.Of(redirects, 50), Percentiles.Of(redirects, 99), Percentiles.Of(late, 50), Percentiles.Of(late, 99), Percentiles.Of(created, 50), Percentiles.Of(created, 99),
            created.Count, creator.Failed, rssBefore, monitor.RssMaxMiB, cpu, busy, monitor.Rows, drain);
        Machine.Log($"  → {result.Delivered:N0}/{expected:N0} delivered, {result.Duplicates} duplicates, " +
            $"drained {(drainSeconds is { } s ? $"{s:0.0} s" : "not by the deadline")} after the clicks stopped; cores: {cpu}");
        return result;
    }

    public static async Task<BurstResult> BurstAsync(Backend backend, int endpoints, int count, int links, TimeSpan deadline)
    {
        Machine.Log($"burst: {backend.Name}, {endpoints} endpoint(s), {count:N0} clicks enqueued at once over {links:N0} links");
        var ledger = new SoakLedger(endpoints);
        await using var host = await BenchHost.StartAsync(backend, ["--Tern:Webhooks:AllowPrivateNetworks=true"]);
        await using var receiver = await Receiver.StartAsync(readReferrer: false, observer: ledger.Observe);
        var cached = await CreateCachedLinksAsync(host, links);
        await SubscribeAsync(host, receiver, endpoints);
        var busy = await Machine.WaitQuietAsync("webhook burst");
        var monitor = new SoakMonitor(ledger, () => (long)count * endpoints);
        var cpu0 = Machine.SampleCpu();
        var start = Stopwatch.GetTimestamp();
        await EnqueueClicksAsync(host, cached, count, seed: 23);
        var enqueued = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var committed = host.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None)
            .ContinueWith(_ => Stopwatch.GetElapsedTime(start).TotalSeconds, TaskScheduler.Default);
        var drain = await monitor.DrainAsync(deadline, "burst");
        var cpu = CpuSample.CoresBetween(cpu0, Machine.SampleCpu());
        var expected = (long)count * endpoints;
        double? deliveredSeconds = ledger.Delivered >= expected ? Stopwatch.GetElapsedTime(start, ledger.LastAt).TotalSeconds : null;
        var lags = monitor.Lags.ToList();
        var result = new BurstResult(backend.Name, endpoints, count, links, enqueued, await committed, expected, ledger.Delivered,
            ledger.Duplicates, receiver.BadSignatures, deliveredSeconds, Percentiles.Of(lags, 50), Percentiles.Of(lags, 99),
            monitor.RssMaxMiB, cpu, busy, monitor.Rows, drain);
        Machine.Log($"  → {result.Delivered:N0}/{expected:N0} delivered " +
            $"{(deliveredSeconds is { } s ? $"after {s:0.0} s ({result.Delivered / s:N0}/s)" : "by the deadline")}; cores: {cpu}");
        return result;
    }

    /// <summary>
    /// A backlog drained from its start: a node that does not send (<c>Tern:Webhooks:Send=false</c>) stores
    /// <paramref name="count"/> clicks with their events and deliveries, then a node that sends starts on the same
    /// storage and drains them, with a link created through the API <paramref name="createsPerSecond"/> times a second
    /// meanwhile (what the drain costs the API) and no other load. Whether the rate depends on how much is owed shows in
    /// the drain's rate per band of backlog.
    /// </summary>
    public static async Task<BacklogResult> BacklogAsync(
        Backend backend, int endpoints, int count, int links, int createsPerSecond, int redirectsPerSecond, TimeSpan deadline)
    {
        Machine.Log($"backlog: {backend.Name}, {endpoints} endpoint(s), {count:N0} clicks stored by a node that does not send, then sent by one that does");
        var ledger = new SoakLedger(endpoints);
        await using var receiver = await Receiver.StartAsync(readReferrer: false, observer: ledger.Observe);
        var host = await BenchHost.StartAsync(backend, ["--Tern:Webhooks:AllowPrivateNetworks=true", "--Tern:Webhooks:Send=false"]);
        try
        {
            var cached = await CreateCachedLinksAsync(host, links);
            await SubscribeAsync(host, receiver, endpoints);
            var unwatched = redirectsPerSecond > 0 ? await CreateUnwatchedLinksAsync(host, ProbeLinks) : [];
            var start = Stopwatch.GetTimestamp();
            await EnqueueClicksAsync(host, cached, count, seed: 29);

            await host.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
            var expected = (long)count * endpoints;
            while (await PendingAsync(host) < expected)
            {
                if (Stopwatch.GetElapsedTime(start) > deadline)
                {
                    throw new InvalidOperationException($"Only {await PendingAsync(host):N0} of {expected:N0} deliveries were stored by the deadline.");
                }

                await Task.Delay(500);
            }

            var stored = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Machine.Log($"  {expected:N0} deliveries pending after {stored:0.0} s; starting a node that sends");
            var busy = await Machine.WaitQuietAsync("webhook backlog");
            ClickGenerator? before = null;
            if (redirectsPerSecond > 0)
            {
                host.Get<LinkCache>().Clear();
                using var client = RedirectClient(host);
                before = new ClickGenerator(client, unwatched, redirectsPerSecond, maxInFlight: 256, seed: 31);
                await before.RunAsync(ProbeBefore);
                Machine.Log($"  redirects before the drain: {before.Answered:N0} answered, p50 {Percentiles.Of(before.Latency.All(), 50):0.0} ms, p99 {Percentiles.Of(before.Latency.All(), 99):0.0} ms");
            }

            var cpu0 = Machine.SampleCpu();
            var restartAt = Stopwatch.GetTimestamp();
            host = await host.RestartAsync(["--Tern:Webhooks:AllowPrivateNetworks=true"]);
            var creator = new LinkCreator(host.Http, createsPerSecond);
            using var redirectClient = RedirectClient(host);
            var during = redirectsPerSecond > 0 ? new ClickGenerator(redirectClient, unwatched, redirectsPerSecond, maxInFlight: 256, seed: 37) : null;
            var monitor = new SoakMonitor(ledger, () => expected, during, creator);
            DrainRates drain;
            var probeStart = Stopwatch.GetTimestamp();
            var probing = during?.RunAsync(ProbeDuring) ?? Task.CompletedTask;
            var probeSeconds = 0.0;
            using (var stopCreating = new CancellationTokenSource())
            {
                var creating = creator.RunAsync(stopCreating.Token);
                drain = await monitor.DrainAsync(deadline, "backlog");
                await stopCreating.CancelAsync();
                await creating;
                probeSeconds = Stopwatch.GetElapsedTime(probeStart).TotalSeconds;
                await probing;
            }

            var cpu = CpuSample.CoresBetween(cpu0, Machine.SampleCpu());
            var created = creator.Latency.All();
            double? deliveredSeconds = ledger.Delivered >= expected ? Stopwatch.GetElapsedTime(restartAt, ledger.LastAt).TotalSeconds : null;
            var result = new BacklogResult(backend.Name, endpoints, count, links, stored, expected, ledger.Delivered, ledger.Duplicates,
                receiver.BadSignatures, deliveredSeconds, monitor.RssMaxMiB, cpu, busy, monitor.Rows, drain,
                Percentiles.Of(created, 50), Percentiles.Of(created, 99), created.Count, creator.Failed,
                before is null || during is null ? null : Probe(redirectsPerSecond, before, during, Math.Min(probeSeconds, ProbeDuring.TotalSeconds)));
            Machine.Log($"  → {result.Delivered:N0}/{expected:N0} delivered " +
                $"{(deliveredSeconds is { } s ? $"{s:0.0} s after the sending node started ({result.Delivered / s:N0}/s)" : "by the deadline")}; cores: {cpu}");
            return result;
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private const int ProbeLinks = 2_000;
    private static readonly TimeSpan ProbeBefore = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProbeDuring = TimeSpan.FromSeconds(30);

    private static RedirectProbe Probe(int rate, ClickGenerator before, ClickGenerator during, double duringSeconds)
    {
        var (b, d) = (before.Latency.All(), during.Latency.All());
        return new RedirectProbe(rate, ProbeLinks, Percentiles.Of(b, 50), Percentiles.Of(b, 99), before.Answered, before.Failed + before.Skipped,
            Percentiles.Of(d, 50), Percentiles.Of(d, 99), during.Answered, during.Failed + during.Skipped, duringSeconds);
    }

    private static HttpClient RedirectClient(BenchHost host) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false, MaxConnectionsPerServer = 256 })
        {
            BaseAddress = new Uri(host.BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>
    /// Links <c>r0</c>… in a workspace of their own, which has no webhook: their clicks are stored like any other and owe
    /// no delivery. Both nodes' first click of each reads storage, as a campaign's would.
    /// </summary>
    private static async Task<List<string>> CreateUnwatchedLinksAsync(BenchHost host, int count)
    {
        var workspace = await host.Get<AccessStore>().CreateWorkspaceAsync("Redirects only", CancellationToken.None);
        var service = host.Get<LinkService>();
        var slugs = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var outcome = await service.CreateAsync(workspace.Id, new CreateLinkRequest { Url = $"https://brand.example/sms/{i}", Slug = $"r{i}" }, CancellationToken.None);
            slugs.Add(outcome is LinkOutcome.Created created ? created.Link.Slug : throw new InvalidOperationException($"Link r{i} was not created: {outcome}."));
        }

        return slugs;
    }

    /// <summary>Deliveries pending over every endpoint, as <c>GET /api/v1/webhooks/{id}/stats</c> tells them.</summary>
    private static async Task<long> PendingAsync(BenchHost host)
    {
        var webhooks = await host.Http.GetFromJsonAsync("/api/v1/webhooks?limit=100", TernJsonContext.Default.ListResponseWebhookResponse)
            ?? throw new InvalidOperationException("GET /api/v1/webhooks answered nothing.");
        var pending = 0L;
        foreach (var webhook in webhooks.Items)
        {
            var stats = await host.Http.GetFromJsonAsync($"/api/v1/webhooks/{webhook.Id}/stats", TernJsonContext.Default.WebhookStatsResponse);
            pending += stats?.Pending ?? 0;
        }

        return pending;
    }

    /// <summary>Links created as <see cref="CreateLinksAsync"/> does, as the node's redirect cache holds them.</summary>
    private static async Task<List<CachedLink>> CreateCachedLinksAsync(BenchHost host, int count)
    {
        var cache = host.Get<LinkCache>();
        var cached = new List<CachedLink>(count);
        foreach (var link in await CreateLinksAsync(host, count))
        {
            cached.Add(await cache.LoadAsync(link.Domain, link.Slug, CancellationToken.None)
                ?? throw new InvalidOperationException($"Link {link.Slug} was created but is not found."));
        }

        return cached;
    }

    /// <summary>Browser clicks on links picked at random, handed to the click queue as redirects would, as fast as it takes them.</summary>
    private static async Task EnqueueClicksAsync(BenchHost host, List<CachedLink> links, int count, int seed)
    {
        var queue = host.Get<ClickQueue>();
        var mix = new TrafficMix(seed, browsersOnly: true);
        for (var i = 0; i < count; i++)
        {
            await queue.EnqueueAsync(mix.Capture(links[mix.Next(links.Count)], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), CancellationToken.None);
        }
    }

    /// <summary>Links <c>c0</c>… created through <c>POST /api/v1/links/bulk</c>, 1,000 a call.</summary>
    private static async Task<List<LinkResponse>> CreateLinksAsync(BenchHost host, int count)
    {
        var clock = Stopwatch.StartNew();
        var links = new List<LinkResponse>(count);
        for (var from = 0; from < count; from += 1000)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new BulkCreateRequest
            {
                Items = [.. Enumerable.Range(from, Math.Min(1000, count - from)).Select(i => new CreateLinkRequest
                {
                    Url = $"https://brand.example/campaign/{i}?member=usr_{i * 7919 % 100000}",
                    Slug = $"c{i}",
                    Utm = new UtmParameters { Source = "sms", Campaign = "soak" },
                })],
            }, TernJsonContext.Default.BulkCreateRequest);
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await host.Http.PostAsync("/api/v1/links/bulk", content);
            var answer = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync(TernJsonContext.Default.BulkCreateResponse) : null;
            if (answer is null || answer.Results.Any(r => r.Link is null))
            {
                throw new InvalidOperationException($"POST /api/v1/links/bulk answered {(int)response.StatusCode} or refused an item.");
            }

            links.AddRange(answer.Results.Select(r => r.Link!));
        }

        Machine.Log($"  {count:N0} links created in {clock.Elapsed.TotalSeconds:0.0} s");
        return links;
    }

    /// <summary>One <c>link.clicked</c> subscription per endpoint, <c>/hook/0</c>…, each with its own secret.</summary>
    private static async Task SubscribeAsync(BenchHost host, Receiver receiver, int endpoints)
    {
        for (var i = 0; i < endpoints; i++)
        {
            var (_, secret) = await WebhookScenarios.SubscribeAsync(host, receiver.UrlOf(i));
            receiver.SetSecret(i, secret);
        }
    }
}
