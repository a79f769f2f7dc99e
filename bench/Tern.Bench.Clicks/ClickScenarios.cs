using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Redirect;
using Tern.Server.Storage;

namespace Tern.Bench.Clicks;

internal sealed record ThroughputResult(
    string Backend, int Links, string Order, long Clicks, double Seconds, double ClicksPerSecond, int Batches, double MeanBatch,
    double BatchMsP50, double BatchMsP95, double CellsPerBatch, long RollupRows, CpuShare Cpu, long StorageBytes, int BusyBefore);

internal sealed record BreakdownResult(
    string Backend, int Links, string Order, double EnrichMs, double RollupBuildMs, double InsertMs, double LinkCountsMs,
    double RollupsMs, double CommitMs, double TotalMs, double CellsPerBatch);

internal sealed record StatsCall(string Path, double P50, double P95, double Max, long Total, int BusyBefore, CpuShare Cpu);

internal sealed record QueryTime(string Name, double Ms, int Rows);

internal sealed record StatsResult(
    string Backend, int Links, long Wanted, long Clicks, double InsertClicksPerSecond, long RollupRows,
    IReadOnlyList<StatsCall> Calls, IReadOnlyList<QueryTime> Queries);

/// <summary>
/// Deterministic click streams: the same seed gives the same links, timestamps and headers, so the rollup cells
/// of a run can be recounted afterwards without slowing the run down.
/// </summary>
/// <remarks>
/// Orders: <c>chronological</c> spreads the timestamps evenly over the span (30 days of traffic compressed into the run,
/// so a link's clicks fall in ever new hours and days); <c>shuffled</c> draws each from the whole span; <c>live</c>
/// advances them as live traffic of <see cref="LiveClicksPerSecond"/> would, ending at <paramref name="toMs"/>.
/// </remarks>
internal sealed class ClickSource(CachedLink[] links, long count, string order, long fromMs, long toMs, int seed)
{
    public const int LiveClicksPerSecond = 50_000;

    private readonly TrafficMix _mix = new(seed);
    private readonly long _span = toMs - fromMs;
    private readonly long _liveFrom = toMs - count * 1000 / LiveClicksPerSecond;

    public ClickCapture Next(long i)
    {
        var link = links.Length == 1 ? links[0] : links[_mix.Next(links.Length)];
        var at = order switch
        {
            "shuffled" => fromMs + _mix.NextLong(_span),
            "live" => _liveFrom + i * 1000 / LiveClicksPerSecond,
            _ => fromMs + (long)((double)i * _span / count) + _mix.Next(1000),
        };
        return _mix.Capture(link, Math.Min(at, toMs));
    }
}

internal static class ClickScenarios
{
    private const int Seed = 20250301;
    private static readonly TimeSpan Range = TimeSpan.FromDays(30);

    /// <summary>The clicks' time span: the 30 days before now, less a few minutes so that all fall in a default stats range.</summary>
    private static (long From, long To) Span()
    {
        var to = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();
        return (to - (long)Range.TotalMilliseconds + 3_600_000, to);
    }

    public static async Task<ThroughputResult> ThroughputAsync(Backend backend, int linkCount, long clicks, string order)
    {
        Machine.Log($"throughput: {backend.Name}, {linkCount:N0} links, {order}, {clicks:N0} clicks");
        await using var host = await BenchHost.StartAsync(backend);
        var links = await CreateLinksAsync(host, linkCount);
        var (from, to) = Span();
        var source = new ClickSource(links, clicks, order, from, to, Seed);
        var queue = host.Get<ClickQueue>();
        var writer = host.Get<ClickWriter>();
        var busy = await Machine.WaitQuietAsync("click throughput");

        var start = writer.Persisted;
        using var poller = new ProgressPoller(() => writer.Persisted);
        var cpu0 = Machine.SampleCpu();
        var clock = Stopwatch.StartNew();
        using var progress = Report(writer, start, clock);
        for (long i = 0; i < clicks; i++)
        {
            await queue.EnqueueAsync(source.Next(i), CancellationToken.None);
        }

        await writer.WaitForPersistedAsync(CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu1 = Machine.SampleCpu();
        poller.Dispose();
        var cpu = CpuSample.CoresBetween(cpu0, cpu1);

        var steps = BatchSteps(poller.Changes);
        var maxBatch = host.Get<IOptions<ClickOptions>>().Value.MaxBatch;
        var (cells, distinct) = await CountCellsAsync(host, new ClickSource(links, clicks, order, from, to, Seed), clicks, maxBatch);
        var rows = await ScalarAsync(host, "SELECT COUNT(*) FROM click_rollups");
        if (rows != distinct)
        {
            Machine.Log($"  WARNING: the server wrote {rows:N0} rollup rows, the replayed stream gives {distinct:N0}: the rollup-cell figures are off");
        }

        var result = new ThroughputResult(backend.Name, linkCount, order, clicks, seconds, clicks / seconds, steps.Count,
            steps.Count == 0 ? 0 : steps.Average(s => s.Size), Percentiles.Of(steps.Select(s => s.Ms), 50), Percentiles.Of(steps.Select(s => s.Ms), 95),
            rows == distinct ? cells : double.NaN, rows, cpu, await host.StorageBytesAsync(), busy);
        Machine.Log($"  → {result.ClicksPerSecond:N0} clicks/s ({seconds:0.0} s, {steps.Count} batches, {cells:N0} rollup cells per batch, cores: {cpu})");
        return result;
    }

    /// <summary>
    /// The steps <c>ClickWriter.WriteAsync</c> takes for a batch, replayed through the same public calls on full
    /// batches and timed one by one (the writer itself is idle meanwhile): enrichment, the rollup sums, the raw
    /// INSERT (COPY on PostgreSQL), the links' counts, the rollup upserts, and the commit.
    /// </summary>
    /// <remarks>
    /// The click stream is that of the throughput run of <paramref name="clicks"/> clicks (the same span of time per
    /// batch), of which the first <paramref name="batches"/> batches are written.
    /// </remarks>
    public static async Task<BreakdownResult> BreakdownAsync(Backend backend, int linkCount, string order, long clicks, int batches)
    {
        Machine.Log($"breakdown: {backend.Name}, {linkCount:N0} links, {order}");
        await using var host = await BenchHost.StartAsync(backend);
        var links = await CreateLinksAsync(host, linkCount);
        var (from, to) = Span();
        var maxBatch = host.Get<IOptions<ClickOptions>>().Value.MaxBatch;
        var source = new ClickSource(links, clicks, order, from, to, Seed);
        var enricher = NewEnricher(host);
        var store = host.Get<ClickStore>();
        var database = host.Get<Database>();
        var times = new double[7];
        var countedSoFar = new Dictionary<string, long>(StringComparer.Ordinal);
        double cells = 0;
        await Machine.WaitQuietAsync("batch breakdown");
        long i = 0;
        for (var b = 0; b < batches; b++)
        {
            var captures = new List<ClickCapture>(maxBatch);
            for (var k = 0; k < maxBatch; k++)
            {
                captures.Add(source.Next(i++));
            }

            var clock = Stopwatch.StartNew();
            var enriched = new List<Click>(maxBatch);
            foreach (var capture in captures)
            {
                enriched.Add(await enricher.EnrichAsync(capture, CancellationToken.None));
            }

            var t0 = clock.Elapsed.TotalMilliseconds;
            var perLink = new Dictionary<string, long>(StringComparer.Ordinal);
            var rollups = new Dictionary<RollupKey, long>();
            foreach (var click in enriched)
            {
                perLink[click.LinkId] = perLink.GetValueOrDefault(click.LinkId) + 1;
                AddCells(rollups, click, countedSoFar);
            }

            var t1 = clock.Elapsed.TotalMilliseconds;
            // INSERT's time includes taking the (idle) write gate and BEGIN.
            double t2 = 0, t3 = 0, t4 = 0;
            await database.WriteAsync(async (connection, transaction) =>
            {
                await store.InsertAsync(connection, transaction, enriched, CancellationToken.None);
                t2 = clock.Elapsed.TotalMilliseconds;
                await LinkClickCounts.AddAsync(connection, transaction, perLink, CancellationToken.None);
                t3 = clock.Elapsed.TotalMilliseconds;
                await store.AddToRollupsAsync(connection, transaction, rollups, CancellationToken.None);
                t4 = clock.Elapsed.TotalMilliseconds;
                return true;
            }, CancellationToken.None);
            var t5 = clock.Elapsed.TotalMilliseconds;
            times[0] += t0;
            times[1] += t1 - t0;
            times[2] += t2 - t1;
            times[3] += t3 - t2;
            times[4] += t4 - t3;
            times[5] += t5 - t4;
            times[6] += t5;
            cells += rollups.Count;
        }

        var result = new BreakdownResult(backend.Name, linkCount, order, times[0] / batches, times[1] / batches, times[2] / batches,
            times[3] / batches, times[4] / batches, times[5] / batches, times[6] / batches, cells / batches);
        Machine.Log($"  → enrich {result.EnrichMs:0.0} ms, insert {result.InsertMs:0.0}, counts {result.LinkCountsMs:0.0}, rollups {result.RollupsMs:0.0} ({result.CellsPerBatch:N0} cells), commit {result.CommitMs:0.0}; total {result.TotalMs:0.0} ms per batch");
        return result;
    }

    public static async Task<StatsResult> StatsAsync(Backend backend, int linkCount, long clicks, bool workspace, TimeSpan insertBudget)
    {
        Machine.Log($"stats: {backend.Name}, {linkCount:N0} links, {clicks:N0} clicks");
        await using var host = await BenchHost.StartAsync(backend);
        var links = await CreateLinksAsync(host, linkCount);
        var (from, to) = Span();
        var source = new ClickSource(links, clicks, "chronological", from, to, Seed);
        var queue = host.Get<ClickQueue>();
        var writer = host.Get<ClickWriter>();
        await Machine.WaitQuietAsync("inserting the stats data");
        var clock = Stopwatch.StartNew();
        long produced = 0;
        using (Report(writer, 0, clock))
        {
            for (; produced < clicks; produced++)
            {
                if ((produced & 0xFFFF) == 0 && clock.Elapsed > insertBudget)
                {
                    Machine.Log($"  insert budget of {insertBudget.TotalMinutes:0} min reached after {produced:N0} clicks; measuring with those");
                    break;
                }

                await queue.EnqueueAsync(source.Next(produced), CancellationToken.None);
            }

            await writer.WaitForPersistedAsync(CancellationToken.None);
        }

        var insertRate = produced / clock.Elapsed.TotalSeconds;
        Machine.Log($"  inserted {produced:N0} clicks at {insertRate:N0} clicks/s");
        var rows = await ScalarAsync(host, "SELECT COUNT(*) FROM click_rollups");

        var calls = new List<StatsCall>
        {
            await TimeCallAsync(host, $"/api/v1/links/{links[0].Id}/stats", "/api/v1/links/{id}/stats", workspace ? -1 : produced),
        };
        if (workspace)
        {
            calls.Insert(0, await TimeCallAsync(host, "/api/v1/stats", "/api/v1/stats", produced));
        }

        var queries = await QueryTimesAsync(host, workspace ? AccessStore.DefaultWorkspaceId : links[0].Id, workspace);
        return new StatsResult(backend.Name, linkCount, clicks, produced, insertRate, rows, calls, queries);
    }

    private static async Task<StatsCall> TimeCallAsync(BenchHost host, string path, string label, long expectedTotal)
    {
        var busy = await Machine.WaitQuietAsync($"GET {path}");
        long total = 0;
        for (var i = 0; i < 5; i++)
        {
            total = await GetTotalAsync(host, path);
        }

        if (expectedTotal >= 0 && total != expectedTotal)
        {
            throw new InvalidOperationException($"GET {path} answered total {total}, expected {expectedTotal}.");
        }

        var times = new List<double>();
        var cpu0 = Machine.SampleCpu();
        for (var i = 0; i < 30; i++)
        {
            var clock = Stopwatch.StartNew();
            await GetTotalAsync(host, path);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        var call = new StatsCall(label, Percentiles.Of(times, 50), Percentiles.Of(times, 95), times.Max(), total, busy,
            CpuSample.CoresBetween(cpu0, Machine.SampleCpu()));
        Machine.Log($"  GET {call.Path}: p50 {call.P50:0.0} ms, p95 {call.P95:0.0} ms, max {call.Max:0.0} ms (total {total:N0}; cores: {call.Cpu})");
        return call;
    }

    private static async Task<long> GetTotalAsync(BenchHost host, string path)
    {
        using var response = await host.Http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"GET {path} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
        }

        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("total").GetInt64();
    }

    /// <summary>Each storage query of a stats answer, as <c>AnalyticsEndpoints.StatsAsync</c> makes them, timed alone.</summary>
    private static async Task<IReadOnlyList<QueryTime>> QueryTimesAsync(BenchHost host, string scope, bool workspace)
    {
        await Machine.WaitQuietAsync("the query breakdown");
        var store = host.Get<ClickStore>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var fromMs = now - (long)Range.TotalMilliseconds;
        var (from, to) = (ClickStore.FloorHour(fromMs), ClickStore.CeilHour(now));
        var (dayFrom, dayTo) = ClickStore.DaySpan(from, to);
        string[] scopes = [scope];
        var steps = new List<(string Name, Func<Task<int>> Run)>
        {
            ("hourly head", async () => (await store.SeriesAsync(scopes, 'h', from, dayFrom, CancellationToken.None)).Count),
            ("daily series", async () => (await store.SeriesAsync(scopes, 'd', dayFrom, dayTo, CancellationToken.None)).Count),
            ("hourly tail", async () => (await store.SeriesAsync(scopes, 'h', dayTo, to, CancellationToken.None)).Count),
        };
        foreach (var dimension in ClickStore.Dimensions)
        {
            // A link's breakdowns are read by whole days (wholeDays), as AnalyticsEndpoints does since c8bbcad.
            steps.Add((dimension, async () => (await store.SumAsync(scopes, dimension, fromMs, now, CancellationToken.None, wholeDays: !workspace)).Count));
        }

        if (workspace)
        {
            steps.Add(("top links", async () => (await store.SumAsync(scopes, "link", fromMs, now, CancellationToken.None)).Count));
        }

        var result = new List<QueryTime>();
        foreach (var (name, run) in steps)
        {
            var rows = 0;
            for (var i = 0; i < 3; i++)
            {
                rows = await run();
            }

            var times = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                var clock = Stopwatch.StartNew();
                await run();
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            result.Add(new QueryTime(name, Percentiles.Of(times, 50), rows));
        }

        return result;
    }

    public static async Task<CachedLink[]> CreateLinksAsync(BenchHost host, int count)
    {
        var service = host.Get<LinkService>();
        var links = new CachedLink[count];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var outcome = await service.CreateAsync(AccessStore.DefaultWorkspaceId, new CreateLinkRequest
            {
                Url = string.Create(CultureInfo.InvariantCulture, $"https://brand.example/offers/{i}?member=usr_{i}"),
                Slug = string.Create(CultureInfo.InvariantCulture, $"c{i}"),
                Tags = [i % 2 == 0 ? "spring" : "loyalty"],
            }, CancellationToken.None);
            links[i] = outcome is LinkOutcome.Created created
                ? new CachedLink(created.Link, null)
                : throw new InvalidOperationException($"Creating link {i} failed: {outcome}");
        }

        Machine.Log($"  created {count:N0} links through LinkService in {clock.Elapsed.TotalSeconds:0.0} s");
        return links;
    }

    /// <summary>Each step of the counter is a committed batch: its size and the time since the previous step.</summary>
    private static List<(long Size, double Ms)> BatchSteps(IReadOnlyList<(long At, long Value)> changes)
    {
        var steps = new List<(long, double)>();
        for (var i = 1; i < changes.Count; i++)
        {
            steps.Add((changes[i].Value - changes[i - 1].Value, Stopwatch.GetElapsedTime(changes[i - 1].At, changes[i].At).TotalMilliseconds));
        }

        // The first step includes the time before the first batch started; leave it out of the timing.
        return steps.Count > 1 ? steps[1..] : steps;
    }

    /// <summary>
    /// A click's cells as the fold adds them: its workspace's always, its link's own once the link has more clicks than
    /// the default <c>Tern:Clicks:LinkRollupsAbove</c> (the one-off count of its earlier clicks is left out).
    /// </summary>
    private static void AddCells(Dictionary<RollupKey, long> cells, Click click, Dictionary<string, long> countedSoFar)
    {
        var count = countedSoFar[click.LinkId] = countedSoFar.GetValueOrDefault(click.LinkId) + 1;
        ClickFolder.AddWorkspaceCells(cells, click);
        if (count > new ClickOptions().LinkRollupsAbove)
        {
            ClickFolder.AddLinkCells(cells, click);
        }
    }

    /// <summary>
    /// Replays the run's click stream through the server's enrichment and rollup rule: the distinct cells per full
    /// batch (mean of the first 40 batches), and all distinct cells of the run, which must equal the rows the
    /// server wrote.
    /// </summary>
    private static async Task<(double PerBatch, long Distinct)> CountCellsAsync(BenchHost host, ClickSource source, long clicks, int maxBatch)
    {
        var countedSoFar = new Dictionary<string, long>(StringComparer.Ordinal);
        var enricher = NewEnricher(host);
        var all = new HashSet<RollupKey>();
        var inBatch = new HashSet<RollupKey>();
        var batch = new Dictionary<RollupKey, long>();
        double cells = 0;
        var batches = 0;
        for (long i = 0; i < clicks; i++)
        {
            batch.Clear();
            AddCells(batch, await enricher.EnrichAsync(source.Next(i), CancellationToken.None), countedSoFar);
            all.UnionWith(batch.Keys);
            if (batches < 40)
            {
                inBatch.UnionWith(batch.Keys);
                if ((i + 1) % maxBatch == 0)
                {
                    cells += inBatch.Count;
                    inBatch.Clear();
                    batches++;
                }
            }
        }

        return (batches == 0 ? 0 : cells / batches, all.Count);
    }

    private static ClickEnricher NewEnricher(BenchHost host) =>
        new(host.Get<CountryResolver>(), host.Get<VisitorSalts>(), host.Get<IOptions<TernOptions>>(), host.Get<IOptions<ClickOptions>>());

    private static async Task<long> ScalarAsync(BenchHost host, string sql)
    {
        await using var connection = await host.Get<Database>().OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Logs progress every 30 s while a long insert runs.</summary>
    private static Timer Report(ClickWriter writer, long start, Stopwatch clock) =>
        new(_ =>
        {
            var done = writer.Persisted - start;
            Machine.Log($"  … {done:N0} clicks persisted after {clock.Elapsed.TotalSeconds:0} s ({done / clock.Elapsed.TotalSeconds:N0}/s)");
        }, null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30));
}
