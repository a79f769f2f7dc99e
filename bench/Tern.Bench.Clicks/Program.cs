using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tern.Bench;
using Tern.Bench.Clicks;

// Click persistence throughput and stats latency of Tern hosted in this process. See the "Clicks and webhooks" section of bench/README.md.
//
//   dotnet bench/Tern.Bench.Clicks/bin/Release/net10.0/Tern.Bench.Clicks.dll [options]
//
//   --clicks N                    clicks per throughput run (1000000)
//   --throughput LIST             the throughput runs, each LINKS:ORDER[:CLICKS]
//                                 (300:chronological,1:chronological,10000:chronological,10000:live,300:shuffled:200000):
//                                 the clicks are spread evenly over LINKS links; ORDER chronological: timestamps rise
//                                 evenly over 30 days (a month compressed into the run: a link's clicks keep landing
//                                 in new hours and days); live: timestamps rise as 50,000 clicks/s of live traffic
//                                 would, so a busy link's clicks share their hour and day; shuffled: random order, so
//                                 that every batch spans the 30 days (the worst case for rollup cells).
//   --breakdown LIST              the breakdown runs, in the same form (default: the --throughput list)
//   --stats-link-clicks N         clicks on the one link of the link stats run (1000000)
//   --stats-workspace-clicks N    clicks of the workspace stats run (10000000), over --stats-workspace-links (1000)
//   --insert-budget-seconds S     longest the workspace run may insert before it measures with what it has (900)
//   --only LIST                   throughput,breakdown,stats-link,stats-workspace,sqlite-variants (all)
//   --postgres "CS"               also run on PostgreSQL (a database is created per run from this connection string)
//   --postgres-only               skip SQLite
//   --out FILE                    also write the markdown there
//   --quiet-max-busy P            the idle rule before each measurement (20 %)
//   --quiet-wait-seconds S        longest wait for it before measuring anyway (1800)
var options = Options.Parse(args);
Machine.MaxBusyPercent = options.QuietMaxBusy;
Machine.MaxWaitSeconds = options.QuietWaitSeconds;
var backends = new List<Backend>();
if (!options.PostgresOnly)
{
    backends.Add(Backend.Sqlite);
}

if (options.Postgres is not null)
{
    backends.Add(Backend.Postgres(options.Postgres));
}

var report = new StringBuilder();
IReadOnlyList<VariantResult> variants = [];
var throughput = new List<ThroughputResult>();
var breakdowns = new List<BreakdownResult>();
var stats = new List<StatsResult>();
var total = Stopwatch.StartNew();
foreach (var backend in backends)
{
    if (options.Runs("throughput"))
    {
        foreach (var (links, order, clicks) in options.Throughput)
        {
            var run = await ClickScenarios.ThroughputAsync(backend, links, clicks ?? options.Clicks, order);
            if (run.Cpu.Others > 0.25)
            {
                Machine.Log($"  other processes used {run.Cpu.Others:0.00} cores during the run; measuring again");
                var again = await ClickScenarios.ThroughputAsync(backend, links, clicks ?? options.Clicks, order);
                run = again.Cpu.Others < run.Cpu.Others ? again : run;
            }

            throughput.Add(run);
        }
    }

    if (options.Runs("breakdown"))
    {
        foreach (var (links, order, clicks) in options.Breakdown ?? options.Throughput)
        {
            breakdowns.Add(await ClickScenarios.BreakdownAsync(backend, links, order, clicks ?? options.Clicks, batches: 40));
        }
    }

    if (options.Runs("stats-link"))
    {
        stats.Add(await ClickScenarios.StatsAsync(backend, linkCount: 1, options.StatsLinkClicks, workspace: false, options.InsertBudget));
    }

    if (options.Runs("stats-workspace"))
    {
        stats.Add(await ClickScenarios.StatsAsync(backend, options.StatsWorkspaceLinks, options.StatsWorkspaceClicks, workspace: true, options.InsertBudget));
    }
}

if (!options.PostgresOnly && options.Runs("sqlite-variants"))
{
    variants = await SqliteVariants.RunAsync();
}

report.AppendLine(CultureInfo.InvariantCulture, $"Runtime: {Machine.Describe()}. The runs took {total.Elapsed.TotalMinutes:0.0} min.");
report.AppendLine();
if (throughput.Count > 0)
{
    report.AppendLine("#### Click persistence throughput (enqueue N ClickCaptures → ClickWriter.WaitForPersistedAsync)");
    report.AppendLine();
    report.AppendLine("| storage | links | timestamps | clicks | seconds | **clicks/s** | batches | mean batch | ms/batch p50 (p95) | rollup cells/batch | rollup rows after | CPU cores: Tern (+ PG); others | storage MB | busy before |");
    report.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|");
    foreach (var r in throughput)
    {
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Backend} | {r.Links:N0} | {r.Order} | {r.Clicks:N0} | {r.Seconds:0.0} | **{r.ClicksPerSecond:N0}** | {r.Batches:N0} | {r.MeanBatch:N0} | {r.BatchMsP50:0} ({r.BatchMsP95:0}) | {r.CellsPerBatch:N0} | {r.RollupRows:N0} | {r.Cpu} | {r.StorageBytes / 1e6:N0} | {r.BusyBefore} % |");
    }

    report.AppendLine();
}

if (breakdowns.Count > 0)
{
    report.AppendLine("#### Where a batch's time goes (the writer's steps replayed one by one through the same public calls, on the first 40 full 5,000-click batches of each throughput run's click stream, into a fresh database; ms per batch, mean of 40)");
    report.AppendLine();
    report.AppendLine("| storage | links | timestamps | enrich | build rollup sums | INSERT clicks | link counts | rollup upserts | commit | total | rollup cells/batch | → clicks/s |");
    report.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    foreach (var b in breakdowns)
    {
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {b.Backend} | {b.Links:N0} | {b.Order} | {b.EnrichMs:0.0} | {b.RollupBuildMs:0.0} | {b.InsertMs:0.0} | {b.LinkCountsMs:0.0} | {b.RollupsMs:0.0} | {b.CommitMs:0.0} | {b.TotalMs:0.0} | {b.CellsPerBatch:N0} | {5000 / (b.TotalMs / 1000):N0} |");
    }

    report.AppendLine();
}

if (stats.Count > 0)
{
    report.AppendLine("#### Stats latency over HTTP (default range: the last 30 days; 5 warm-up requests, then 30 timed, one at a time)");
    report.AppendLine();
    report.AppendLine("| storage | call | clicks stored | links | insert clicks/s | **p50 ms** | **p95 ms** | max ms | total in answer | rollup rows | busy before | CPU cores while timed: Tern (+ PG); others |");
    report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    foreach (var s in stats)
    {
        foreach (var call in s.Calls)
        {
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Backend} | `{call.Path}` | {s.Clicks:N0}{(s.Clicks < s.Wanted ? $" (of {s.Wanted:N0} wanted: insert budget reached)" : "")} | {s.Links:N0} | {s.InsertClicksPerSecond:N0} | **{call.P50:0.0}** | **{call.P95:0.0}** | {call.Max:0.0} | {call.Total:N0} | {s.RollupRows:N0} | {call.BusyBefore} % | {call.Cpu} |");
        }
    }

    report.AppendLine();
    report.AppendLine("Time of each storage query a stats answer makes (in-process ClickStore calls with the same arguments, median of 10, ms):");
    report.AppendLine();
    foreach (var s in stats)
    {
        var queries = string.Join(", ", s.Queries.Select(q => string.Create(CultureInfo.InvariantCulture, $"{q.Name} {q.Ms:0.0} ({q.Rows:N0} rows)")));
        report.AppendLine(CultureInfo.InvariantCulture,
            $"- {s.Backend}, {(s.Links == 1 ? "one link" : $"workspace of {s.Links:N0} links")}: {queries}; sum {s.Queries.Sum(q => q.Ms):0.0}");
    }

    report.AppendLine();
}

if (variants.Count > 0)
{
    report.AppendLine("#### The statement shape on SQLite (outside Tern: a scratch file with Tern's pragmas and tables; 20 transactions of 5,000 rows each)");
    report.AppendLine();
    report.AppendLine("| table | statement | ms per 5,000 rows | of which commit |");
    report.AppendLine("|---|---|---:|---:|");
    foreach (var v in variants)
    {
        report.AppendLine(CultureInfo.InvariantCulture, $"| {v.Table} | {v.Variant} | {v.MsPerBatch:0.0} | {v.CommitMs:0.0} |");
    }

    report.AppendLine();
}

var markdown = report.ToString();
Console.WriteLine(markdown);
if (options.Out is not null)
{
    await File.WriteAllTextAsync(options.Out, markdown);
}

namespace Tern.Bench.Clicks
{
    internal sealed record Options(
        long Clicks, IReadOnlyList<(int Links, string Order, long? Clicks)> Throughput,
        IReadOnlyList<(int Links, string Order, long? Clicks)>? Breakdown, long StatsLinkClicks, long StatsWorkspaceClicks,
        int StatsWorkspaceLinks, TimeSpan InsertBudget, IReadOnlyList<string>? Only, string? Postgres, bool PostgresOnly, string? Out,
        int QuietMaxBusy, int QuietWaitSeconds)
    {
        public bool Runs(string scenario) => Only is null || Only.Contains(scenario);

        private static (int, string, long?) ParseRun(string item)
        {
            var parts = item.Split(':');
            if (parts.Length is < 2 or > 3 || parts[1] is not ("chronological" or "shuffled" or "live"))
            {
                throw new ArgumentException($"--throughput item '{item}' is not LINKS:chronological|shuffled|live[:CLICKS].");
            }

            return (int.Parse(parts[0], CultureInfo.InvariantCulture), parts[1],
                parts.Length == 3 ? long.Parse(parts[2], CultureInfo.InvariantCulture) : null);
        }

        public static Options Parse(string[] args)
        {
            var a = new BenchArgs(args);
            return new Options(
                a.Long("--clicks", 1_000_000),
                [.. a.List("--throughput", "300:chronological,1:chronological,10000:chronological,10000:live,300:shuffled:200000").Select(ParseRun)],
                a.Has("--breakdown") ? [.. a.List("--breakdown", "").Select(ParseRun)] : null,
                a.Long("--stats-link-clicks", 1_000_000),
                a.Long("--stats-workspace-clicks", 10_000_000),
                a.Int("--stats-workspace-links", 1000),
                TimeSpan.FromSeconds(a.Double("--insert-budget-seconds", 900)),
                a.Only, a.Postgres, a.PostgresOnly, a.Out, a.QuietMaxBusy, a.Int("--quiet-wait-seconds", 1800));
        }
    }
}
