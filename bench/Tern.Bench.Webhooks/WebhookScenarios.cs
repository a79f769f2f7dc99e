using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Redirect;
using Tern.Server.Webhooks;

namespace Tern.Bench.Webhooks;

internal sealed record LatencyResult(
    string Backend, int WindowMs, int Sent, int Delivered, double P50, double P95, double P99, double Max,
    double Answered, double Committed, double AttemptStarted, long BadSignatures, int BusyBefore, CpuShare Cpu);

internal sealed record ThroughputResult(
    string Backend, int PerEndpoint, int Events, int Delivered, double CommittedSeconds, double DeliveredSeconds, double PerSecond,
    double SustainedPerSecond, long Attempts, long Duplicates, CpuShare Cpu, double LongestGapMs, IReadOnlyList<int> PerSecondTimeline,
    int BusyBefore);

internal sealed record DispatchCost(string Backend, int Pending, IReadOnlyList<(string Step, double Ms)> Steps);

internal static class WebhookScenarios
{
    private const string ReferrerPrefix = "https://ref.example/r/";

    /// <summary>
    /// Sequential redirects through a real HttpClient, each with its own referrer (which the click and so the
    /// event carry), timed from sending the request to the receiver's first sight of the delivery.
    /// </summary>
    public static async Task<LatencyResult> LatencyAsync(Backend backend, int windowMs, int redirects, TimeSpan pause)
    {
        Machine.Log($"latency: {backend.Name}, batch window {windowMs} ms, {redirects} redirects");
        await using var host = await BenchHost.StartAsync(backend, Settings($"--Tern:Clicks:BatchWindowMilliseconds={windowMs}"));
        await using var receiver = await Receiver.StartAsync(readReferrer: true);
        var webhookId = await SubscribeAsync(host, receiver);
        var slug = await CreateLinkAsync(host);
        var queue = host.Get<ClickQueue>();
        var writer = host.Get<ClickWriter>();
        var mix = new TrafficMix(7, browsersOnly: true);
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false })
        {
            BaseAddress = new Uri(host.BaseUrl),
        };

        // Warm-up: the first redirect loads the link into the cache; JIT, connections and the dispatcher warm up too.
        const int warmup = 20;
        for (var i = 0; i < warmup; i++)
        {
            await RedirectAsync(client, slug, mix, $"https://ref.example/warmup/{i}");
            await Task.Delay(pause);
        }

        await WaitForAsync(() => receiver.Received.Count >= warmup, TimeSpan.FromSeconds(30));
        var busy = await Machine.WaitQuietAsync("webhook latency");

        var wallAnchor = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var tickAnchor = Stopwatch.GetTimestamp();
        var sent = new long[redirects];
        var answered = new long[redirects];
        var enqueued = new long[redirects];
        var cpu0 = Machine.SampleCpu();
        using (var poller = new ProgressPoller(() => writer.Persisted))
        {
            for (var i = 0; i < redirects; i++)
            {
                sent[i] = Stopwatch.GetTimestamp();
                await RedirectAsync(client, slug, mix, ReferrerPrefix + i.ToString(CultureInfo.InvariantCulture));
                answered[i] = Stopwatch.GetTimestamp();
                enqueued[i] = queue.Enqueued;
                await Task.Delay(pause);
            }

            await WaitForAsync(() => receiver.Received.Count >= warmup + redirects, TimeSpan.FromSeconds(60));
            var cpu = CpuSample.CoresBetween(cpu0, Machine.SampleCpu());
            poller.Dispose();

            // When each delivery's attempt started, from Tern's own delivery log (Unix ms, mapped onto the stopwatch).
            var attempts = new Dictionary<string, long>(StringComparer.Ordinal);
            string? before = null;
            var store = host.Get<DeliveryQueue>();
            while (true)
            {
                var page = await store.ListAsync(webhookId, null, before, 500, CancellationToken.None);
                foreach (var (delivery, _) in page)
                {
                    if (delivery.LastAttemptAt is { } at)
                    {
                        attempts[delivery.EventId] = tickAnchor + ((at - wallAnchor) * Stopwatch.Frequency / 1000);
                    }
                }

                if (page.Count < 500)
                {
                    break;
                }

                before = page[^1].Delivery.Id;
            }

            var total = new List<double>();
            var answeredMs = new List<double>();
            var committedMs = new List<double>();
            var attemptMs = new List<double>();
            foreach (var (eventId, receipt) in receiver.Received)
            {
                if (receipt.Referrer is not { } referrer || !referrer.StartsWith(ReferrerPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                var i = int.Parse(referrer.AsSpan(ReferrerPrefix.Length), CultureInfo.InvariantCulture);
                total.Add(Ms(sent[i], receipt.At));
                answeredMs.Add(Ms(sent[i], answered[i]));
                if (poller.FirstAtLeast(enqueued[i]) is { } committed)
                {
                    committedMs.Add(Ms(sent[i], committed));
                }

                if (attempts.TryGetValue(eventId, out var attempt))
                {
                    attemptMs.Add(Ms(sent[i], attempt));
                }
            }

            var result = new LatencyResult(backend.Name, windowMs, redirects, total.Count,
                Percentiles.Of(total, 50), Percentiles.Of(total, 95), Percentiles.Of(total, 99), total.Count == 0 ? double.NaN : total.Max(),
                Percentiles.Of(answeredMs, 50), Percentiles.Of(committedMs, 50), Percentiles.Of(attemptMs, 50), receiver.BadSignatures, busy, cpu);
            Machine.Log($"  → p50 {result.P50:0.0} ms, p95 {result.P95:0.0}, p99 {result.P99:0.0} ({result.Delivered}/{redirects} delivered; " +
                $"answered {result.Answered:0.0}, committed {result.Committed:0.0}, attempt {result.AttemptStarted:0.0}; cores: {cpu})");
            return result;
        }
    }

    /// <summary>
    /// <paramref name="events"/> clicks enqueued at once (100 links, browser traffic, so every click is a
    /// <c>link.clicked</c> event for the subscription), then the time until the receiver has every event once.
    /// </summary>
    public static async Task<ThroughputResult> ThroughputAsync(Backend backend, int perEndpoint, int events, TimeSpan deadline)
    {
        Machine.Log($"throughput: {backend.Name}, MaxConcurrencyPerEndpoint {perEndpoint}, {events:N0} events");
        await using var host = await BenchHost.StartAsync(backend, Settings($"--Tern:Webhooks:MaxConcurrencyPerEndpoint={perEndpoint}"));
        await using var receiver = await Receiver.StartAsync(readReferrer: false);
        await SubscribeAsync(host, receiver);
        var links = new List<CachedLink>();
        var service = host.Get<LinkService>();
        for (var i = 0; i < 100; i++)
        {
            var outcome = await service.CreateAsync(AccessStore.DefaultWorkspaceId, new CreateLinkRequest
            {
                Url = $"https://brand.example/offers/{i}",
                Slug = $"w{i}",
            }, CancellationToken.None);
            links.Add(new CachedLink(((LinkOutcome.Created)outcome).Link, null));
        }

        var mix = new TrafficMix(11, browsersOnly: true);
        var queue = host.Get<ClickQueue>();
        var writer = host.Get<ClickWriter>();
        var dispatcher = host.Get<WebhookDispatcher>();
        var busy = await Machine.WaitQuietAsync("webhook throughput");

        var attempts0 = dispatcher.Attempts;
        var cpu0 = Machine.SampleCpu();
        var start = Stopwatch.GetTimestamp();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < events; i++)
        {
            await queue.EnqueueAsync(mix.Capture(links[i % links.Count], now), CancellationToken.None);
        }

        var timeline = new List<int>();
        var committed = writer.WaitForPersistedAsync(CancellationToken.None).ContinueWith(_ => Stopwatch.GetTimestamp(), TaskScheduler.Default);
        var last = 0;
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (receiver.Received.Count < events && Stopwatch.GetElapsedTime(start) < deadline)
        {
            await tick.WaitForNextTickAsync();
            var count = receiver.Received.Count;
            timeline.Add(count - last);
            last = count;
        }

        var committedAt = await committed;
        var cpu1 = Machine.SampleCpu();
        var cpu = CpuSample.CoresBetween(cpu0, cpu1);
        var delivered = receiver.Received.Count;
        var times = receiver.Received.Values.Select(r => r.At).Order().ToList();
        var longestGap = times.Count < 2 ? 0 : times.Zip(times.Skip(1), (a, b) => Ms(a, b)).Max();
        var firstAt = times.Count == 0 ? start : times.Min();
        var lastAt = times.Count == 0 ? start : times.Max();
        var deliveredSeconds = Stopwatch.GetElapsedTime(start, lastAt).TotalSeconds;
        var result = new ThroughputResult(backend.Name, perEndpoint, events, delivered,
            Stopwatch.GetElapsedTime(start, committedAt).TotalSeconds, deliveredSeconds, delivered / deliveredSeconds,
            delivered / Math.Max(1e-3, Stopwatch.GetElapsedTime(firstAt, lastAt).TotalSeconds),
            dispatcher.Attempts - attempts0, receiver.Requests - delivered, cpu, longestGap, timeline, busy);
        Machine.Log($"  → {result.PerSecond:N0} deliveries/s ({delivered:N0} in {deliveredSeconds:0.0} s; clicks committed after {result.CommittedSeconds:0.0} s; " +
            $"longest pause between deliveries {longestGap:0} ms; cores: {cpu})");
        return result;
    }

    /// <summary>
    /// The store calls the dispatcher makes for one freed slot, timed alone on the same data: the dispatcher is
    /// parked (MaxConcurrency 1, its one attempt held open by the receiver) while <paramref name="pending"/>
    /// deliveries to one endpoint wait: a claim of a window of 64, the record of those 64 attempts, a claim of 8,
    /// and a claim that finds nothing due.
    /// </summary>
    public static async Task<DispatchCost> DispatchCostAsync(Backend backend, int pending, int rounds)
    {
        Machine.Log($"dispatch cost: {backend.Name}, {pending:N0} pending deliveries");
        await using var host = await BenchHost.StartAsync(backend,
            ["--Tern:Webhooks:AllowPrivateNetworks=true", "--Tern:Webhooks:MaxConcurrency=1", "--Tern:Webhooks:TimeoutSeconds=300", "--Tern:Webhooks:ClaimSeconds=600"]);
        await using var receiver = await Receiver.StartAsync(readReferrer: false, hang: true);
        var webhookId = await SubscribeAsync(host, receiver);
        var service = host.Get<LinkService>();
        var links = new List<CachedLink>();
        for (var i = 0; i < 100; i++)
        {
            var outcome = await service.CreateAsync(AccessStore.DefaultWorkspaceId, new CreateLinkRequest { Url = $"https://brand.example/offers/{i}", Slug = $"d{i}" }, CancellationToken.None);
            links.Add(new CachedLink(((LinkOutcome.Created)outcome).Link, null));
        }

        var mix = new TrafficMix(13, browsersOnly: true);
        var queue = host.Get<ClickQueue>();
        var now0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < pending; i++)
        {
            await queue.EnqueueAsync(mix.Capture(links[i % links.Count], now0), CancellationToken.None);
        }

        await host.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        await WaitForAsync(() => receiver.Requests >= 1, TimeSpan.FromSeconds(30));
        var store = host.Get<DeliveryQueue>();
        await Machine.WaitQuietAsync("dispatch cost");
        var disableAfter = (long)TimeSpan.FromDays(5).TotalMilliseconds;
        var times = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string step, long from) => (times.TryGetValue(step, out var list) ? list : times[step] = []).Add(Ms(from, Stopwatch.GetTimestamp()));
        for (var r = 0; r < rounds; r++)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var t = Stopwatch.GetTimestamp();
            var claimed = await store.ClaimAsync([(webhookId, 64)], now, 30_000, CancellationToken.None);
            Add("claim a window of 64", t);
            t = Stopwatch.GetTimestamp();
            await store.RecordAsync([.. claimed.Select(c => new AttemptRecord(
                new DeliveryAttempt(Ids.New("att", now), c.Delivery.Id, now, 204, 1, "", null), c.Delivery, true, null))], disableAfter, CancellationToken.None);
            Add("record 64 attempts", t);
            t = Stopwatch.GetTimestamp();
            await store.ClaimAsync([(webhookId, 8)], now, 30_000, CancellationToken.None);
            Add("claim 8", t);
            t = Stopwatch.GetTimestamp();
            await store.ClaimAsync([(webhookId, 64)], now - 3_600_000, 30_000, CancellationToken.None);
            Add("claim with nothing due (0 rows)", t);
        }

        var result = new DispatchCost(backend.Name, pending, [.. times.Select(p => (p.Key, Percentiles.Of(p.Value, 50)))]);
        Machine.Log("  → " + string.Join(", ", result.Steps.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Step} {s.Ms:0.00} ms"))));
        return result;
    }

    private static string[] Settings(string extra) => ["--Tern:Webhooks:AllowPrivateNetworks=true", extra];

    private static async Task<string> SubscribeAsync(BenchHost host, Receiver receiver)
    {
        var (id, secret) = await SubscribeAsync(host, receiver.Url);
        receiver.Secret = secret;
        return id;
    }

    /// <summary>A <c>link.clicked</c> subscription for <paramref name="url"/>: its id and signing secret.</summary>
    internal static async Task<(string Id, string Secret)> SubscribeAsync(BenchHost host, string url)
    {
        using var response = await host.Http.PostAsJsonAsync("/api/v1/webhooks",
            new { url, events = new[] { "link.clicked" }, description = "bench receiver" });
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /api/v1/webhooks answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("secret").GetString()!);
    }

    private static async Task<string> CreateLinkAsync(BenchHost host)
    {
        using var response = await host.Http.PostAsJsonAsync("/api/v1/links",
            new { url = "https://brand.example/loyalty?member_id=usr_84729", slug = "whlat", utm = new { source = "sms" } });
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /api/v1/links answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("slug").GetString()!;
    }

    private static async Task RedirectAsync(HttpClient client, string slug, TrafficMix mix, string referrer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/" + slug, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("User-Agent", mix.Agent());
        request.Headers.TryAddWithoutValidation("Referer", referrer);
        request.Headers.TryAddWithoutValidation("Accept-Language", "en-US,en;q=0.9");
        request.Headers.TryAddWithoutValidation(BenchHost.CountryHeader, "DE");
        using var response = await client.SendAsync(request);
        if (response.StatusCode != HttpStatusCode.Found)
        {
            throw new InvalidOperationException($"GET /{slug} answered {(int)response.StatusCode}.");
        }
    }

    internal static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout)
        {
            await Task.Delay(10);
        }
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
