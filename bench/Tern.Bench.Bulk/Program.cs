using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Tern.Bench;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Links;

// Bulk link creation: sustained links/s with repeated 1,000-item POST /api/v1/links/bulk calls over HTTP, and the
// latency of one such call, on Tern hosted in this process. See the "Bulk creation" section of bench/README.md.
//
//   dotnet bench/Tern.Bench.Bulk/bin/Release/net10.0/Tern.Bench.Bulk.dll [options]
//
//   --items N                 items per call (1000)
//   --calls N                 timed calls per run, after 5 warm-up calls (60)
//   --concurrency N           calls in flight at once (1; also 2 when not given)
//   --singles N               then N links created one call each (POST /api/v1/links), 1 and 16 calls in flight (5000; 0: none)
//   --postgres "CS"           also run on PostgreSQL (a database is created per run from this connection string)
//   --postgres-only           skip SQLite
//   --out FILE                also write the markdown there
//   --quiet-max-busy P        the idle rule before each measurement (20 %)
//   --quiet-wait-seconds S    longest wait for it before measuring anyway (600)
var options = new BenchArgs(args);
var items = options.Int("--items", 1000);
var calls = options.Int("--calls", 60);
int[] concurrencies = options.Has("--concurrency") ? [options.Int("--concurrency", 1)] : [1, 2];
Machine.MaxBusyPercent = options.QuietMaxBusy;
Machine.MaxWaitSeconds = options.Int("--quiet-wait-seconds", 600);
var backends = new List<Backend>();
if (!options.PostgresOnly)
{
    backends.Add(Backend.Sqlite);
}

if (options.Postgres is { } postgres)
{
    backends.Add(Backend.Postgres(postgres));
}

var singles = options.Int("--singles", 5000);
var rows = new List<string>();
var singleRows = new List<string>();
foreach (var backend in backends)
{
    foreach (var concurrency in concurrencies)
    {
        rows.Add(await RunAsync(backend, concurrency));
    }

    if (singles > 0)
    {
        foreach (var concurrency in new[] { 1, 16 })
        {
            singleRows.Add(await RunSinglesAsync(backend, concurrency));
        }
    }
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"Runtime: {Machine.Describe()}.");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture,
    $"#### Bulk creation over HTTP ({calls} timed calls of {items:N0} new links each after 5 warm-up calls; every link with a slug, 2 tags, a UTM source and a title, and its link.created event)");
report.AppendLine();
report.AppendLine("| storage | calls in flight | links | seconds | **links/s** | **ms per call p50** | **p95** | max | re-run of a call (all existing) p50 ms | CPU cores: Tern (+ PG); others | busy before |");
report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
rows.ForEach(r => report.AppendLine(r));
if (singleRows.Count > 0)
{
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture,
        $"#### One link a call over HTTP ({singles:N0} timed `POST /api/v1/links` after 200 warm-up calls; a slug, a tag and a UTM source each, and its link.created event; rate limit off)");
    report.AppendLine();
    report.AppendLine("| storage | calls in flight | links | seconds | **links/s** | **ms per call p50** | **p99** | max | CPU cores: Tern (+ PG); others | busy before |");
    report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    singleRows.ForEach(r => report.AppendLine(r));
}

Console.Write(report);
if (options.Out is { } outFile)
{
    await File.WriteAllTextAsync(outFile, report.ToString());
}

async Task<string> RunAsync(Backend backend, int concurrency)
{
    await using var host = await BenchHost.StartAsync(backend);
    var http = host.Http;
    var run = Guid.NewGuid().ToString("N")[..6];
    byte[] Body(int call) => JsonSerializer.SerializeToUtf8Bytes(new BulkCreateRequest
    {
        Items = [.. Enumerable.Range(0, items).Select(i => new CreateLinkRequest
        {
            Url = $"https://shop.example/p/{call}/{i}?ref=bulk",
            Slug = $"{run}-{call}-{i}",
            Tags = ["bench", $"batch-{call % 10}"],
            Utm = new UtmParameters { Source = "bulk" },
            Title = $"Product {i} of batch {call}",
        })],
    }, TernJsonContext.Default.BulkCreateRequest);

    async Task<double> PostAsync(byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/api/v1/links/bulk", content);
        var answer = await response.Content.ReadFromJsonAsync(TernJsonContext.Default.BulkCreateResponse);
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!response.IsSuccessStatusCode || answer!.Results.Any(r => r.Status == "error"))
        {
            throw new InvalidOperationException($"The bulk call failed: {(int)response.StatusCode}.");
        }

        return ms;
    }

    var bodies = Enumerable.Range(0, calls + 5).Select(Body).ToArray();
    for (var w = 0; w < 5; w++)
    {
        await PostAsync(bodies[calls + w]);
    }

    var busy = await Machine.WaitQuietAsync($"{backend.Name}, {concurrency} in flight");
    Machine.Log($"{backend.Name}: {calls} calls of {items} links, {concurrency} in flight (load {Machine.LoadAverage()})");
    var (latencies, seconds, cpu) = await TimeCallsAsync(calls, concurrency, call => PostAsync(bodies[call]));

    var reruns = new List<double>();
    for (var r = 0; r < Math.Min(10, calls); r++)
    {
        reruns.Add(await PostAsync(bodies[r]));
    }

    // Where a call's time goes: the same items through the service in-process, without HTTP and JSON.
    var service = host.Get<BulkLinkService>();
    var planMs = new List<double>();
    var writeMs = new List<double>();
    var writeCpuMs = new List<double>();
    for (var b = 0; b < 10; b++)
    {
        var requests = JsonSerializer.Deserialize(Body(10_000 + b), TernJsonContext.Default.BulkCreateRequest)!.Items!;
        var started = Stopwatch.GetTimestamp();
        var plan = service.Plan([.. requests.Select(BulkItem.Of)]);
        planMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        started = Stopwatch.GetTimestamp();
        var cpuStarted = Environment.CpuUsage.TotalTime;
        await service.ExecuteAsync(AccessStore.DefaultWorkspaceId, plan, dryRun: false, CancellationToken.None);
        writeMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        writeCpuMs.Add((Environment.CpuUsage.TotalTime - cpuStarted).TotalMilliseconds);
    }

    Machine.Log($"  in-process: validate {Percentiles.Of(planMs, 50):0.0} ms, write {Percentiles.Of(writeMs, 50):0.0} ms, using {Percentiles.Of(writeCpuMs, 50):0.0} ms of CPU (p50 of 10)");

    var linksPerSecond = calls * items / seconds;
    Machine.Log($"  {linksPerSecond:N0} links/s, p50 {Percentiles.Of(latencies, 50):0} ms, p95 {Percentiles.Of(latencies, 95):0} ms");
    return string.Create(CultureInfo.InvariantCulture,
        $"| {backend.Name} | {concurrency} | {calls * items:N0} | {seconds:0.0} | **{linksPerSecond:N0}** | **{Percentiles.Of(latencies, 50):0}** | **{Percentiles.Of(latencies, 95):0}** | {latencies.Max():0} | {Percentiles.Of(reruns, 50):0} | {cpu} | {busy} % |");
}

async Task<string> RunSinglesAsync(Backend backend, int concurrency)
{
    await using var host = await BenchHost.StartAsync(backend);
    var http = host.Http;
    var run = Guid.NewGuid().ToString("N")[..6];

    async Task<double> PostAsync(int i)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new CreateLinkRequest
        {
            Url = $"https://brand.example/loyalty?member_id=usr_{i}",
            Slug = $"{run}-{i}",
            Tags = ["bench"],
            Utm = new UtmParameters { Source = "sms" },
        }, TernJsonContext.Default.CreateLinkRequest);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/api/v1/links", content);
        var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if ((int)response.StatusCode != 201)
        {
            throw new InvalidOperationException($"A link's creation answered {(int)response.StatusCode}.");
        }

        return ms;
    }

    for (var w = 0; w < 200; w++)
    {
        await PostAsync(singles + w);
    }

    var busy = await Machine.WaitQuietAsync($"{backend.Name}, single links, {concurrency} in flight");
    Machine.Log($"{backend.Name}: {singles} links one a call, {concurrency} in flight (load {Machine.LoadAverage()})");
    var (latencies, seconds, cpu) = await TimeCallsAsync(singles, concurrency, PostAsync);
    var perSecond = singles / seconds;
    Machine.Log($"  {perSecond:N0} links/s, p50 {Percentiles.Of(latencies, 50):0.00} ms, p99 {Percentiles.Of(latencies, 99):0.00} ms");
    return string.Create(CultureInfo.InvariantCulture,
        $"| {backend.Name} | {concurrency} | {singles:N0} | {seconds:0.0} | **{perSecond:N0}** | **{Percentiles.Of(latencies, 50):0.00}** | **{Percentiles.Of(latencies, 99):0.00}** | {latencies.Max():0.0} | {cpu} | {busy} % |");
}

// Makes calls 0 to count-1 with that many in flight; each call's milliseconds, the seconds of the whole, and the CPU used.
static async Task<(double[] Latencies, double Seconds, CpuShare Cpu)> TimeCallsAsync(int count, int concurrency, Func<int, Task<double>> call)
{
    var latencies = new double[count];
    var next = -1;
    var cpuBefore = Machine.SampleCpu();
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
        {
            latencies[i] = await call(i);
        }
    }));
    return (latencies, clock.Elapsed.TotalSeconds, CpuSample.CoresBetween(cpuBefore, Machine.SampleCpu()));
}
