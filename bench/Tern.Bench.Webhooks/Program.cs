using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tern.Bench;
using Tern.Bench.Webhooks;

// Webhook latency (click → receiver), delivery throughput and a soak at campaign volume of Tern hosted in this process. See the "Clicks and webhooks" section of bench/README.md.
//
//   dotnet bench/Tern.Bench.Webhooks/bin/Release/net10.0/Tern.Bench.Webhooks.dll [options]
//
//   --redirects N           measured redirects per latency run (500), after 20 unmeasured ones
//   --pause-ms P            pause between two redirects (20)
//   --windows LIST          Tern:Clicks:BatchWindowMilliseconds of the latency runs (100,0)
//   --events N              clicks enqueued at once in a throughput run (20000)
//   --concurrency LIST      Tern:Webhooks:MaxConcurrencyPerEndpoint of the throughput runs (8,64)
//   --deadline-seconds S    longest a throughput run, a soak's drain or a burst waits for its deliveries (600)
//   --only LIST             latency,throughput,dispatch-cost,soak (all but soak, which runs only when named)
//   --soak-rate R           soak: browser clicks/s, real redirects sent on schedule (3000)
//   --soak-seconds S        soak: how long the clicks go on (120; 0: no sustained run, e.g. for a burst alone)
//   --soak-endpoints LIST   soak and burst: link.clicked endpoints on the receiver, one run per value (1,4)
//   --soak-links N          soak and burst: links created with POST /api/v1/links/bulk and clicked at random (20000)
//   --soak-cold 1           soak: the node forgets the links it created before the clicks start (as one that did not create
//                           them: every link's first click reads storage); by default they are cached since their creation
//   --soak-in-flight N      soak: most redirects waiting for their answer; a click due beyond it is skipped (256)
//   --burst N               soak: also, per endpoint count, N clicks enqueued at once and their drain (0: none)
//   --backlog N             soak: also, per endpoint count, N clicks stored by a node that does not send, then the drain of
//                           their deliveries by a node that does, started on the same storage (0: none; 250000 × 4 endpoints: 1 M)
//   --backlog-redirects R   backlog: browser redirects/s to links of a workspace without webhooks, for 10 s on the storing
//                           node and for the drain's first 30 s (1000; 0: none)
//   --postgres "CS"         also run on PostgreSQL (a database is created per run from this connection string)
//   --postgres-only         skip SQLite
//   --out FILE              also write the markdown there
//   --quiet-max-busy P      the idle rule before each measurement (20 %)
//   --quiet-wait-seconds S  longest wait for it before measuring anyway (1800)
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

var latency = new List<LatencyResult>();
var throughput = new List<ThroughputResult>();
var costs = new List<DispatchCost>();
var soaks = new List<SoakResult>();
var bursts = new List<BurstResult>();
var backlogs = new List<BacklogResult>();
var total = Stopwatch.StartNew();
foreach (var backend in backends)
{
    if (options.Runs("latency"))
    {
        foreach (var window in options.Windows)
        {
            latency.Add(await WebhookScenarios.LatencyAsync(backend, window, options.Redirects, TimeSpan.FromMilliseconds(options.PauseMs)));
        }
    }

    if (options.Runs("throughput"))
    {
        foreach (var concurrency in options.Concurrency)
        {
            var run = await WebhookScenarios.ThroughputAsync(backend, concurrency, options.Events, TimeSpan.FromSeconds(options.DeadlineSeconds));
            if (run.Cpu.Others > 0.25)
            {
                Machine.Log($"  other processes used {run.Cpu.Others:0.00} cores during the run; measuring again");
                var again = await WebhookScenarios.ThroughputAsync(backend, concurrency, options.Events, TimeSpan.FromSeconds(options.DeadlineSeconds));
                run = again.Cpu.Others < run.Cpu.Others ? again : run;
            }

            throughput.Add(run);
        }
    }

    if (options.Runs("dispatch-cost"))
    {
        costs.Add(await WebhookScenarios.DispatchCostAsync(backend, options.Events, rounds: 50));
    }

    if (options.Runs("soak"))
    {
        foreach (var endpoints in options.SoakEndpoints)
        {
            if (options.Soak.Seconds > 0)
            {
                soaks.Add(await SoakScenarios.SoakAsync(backend, endpoints, options.Soak));
            }

            if (options.Burst > 0)
            {
                bursts.Add(await SoakScenarios.BurstAsync(backend, endpoints, options.Burst, options.Soak.Links, options.Soak.Deadline));
            }

            if (options.Backlog > 0)
            {
                backlogs.Add(await SoakScenarios.BacklogAsync(backend, endpoints, options.Backlog, options.Soak.Links, options.Soak.CreatesPerSecond, options.BacklogRedirects, options.Soak.Deadline));
            }
        }
    }
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"Runtime: {Machine.Describe()}. The runs took {total.Elapsed.TotalMinutes:0.0} min.");
report.AppendLine();
if (latency.Count > 0)
{
    report.AppendLine(CultureInfo.InvariantCulture,
        $"#### Click → webhook latency ({options.Redirects} redirects `GET /{{slug}}`, one at a time, {options.PauseMs} ms apart; time from sending the redirect to the receiver getting the `link.clicked` delivery)");
    report.AppendLine();
    report.AppendLine("| storage | batch window | delivered | **p50 ms** | **p95 ms** | p99 ms | max ms | p50 of the parts: redirect answered · click committed · attempt started · received | bad signatures | busy before | CPU cores: Tern+receiver (+ PG); others |");
    report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|");
    foreach (var r in latency)
    {
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Backend} | {r.WindowMs} ms | {r.Delivered}/{r.Sent} | **{r.P50:0.0}** | **{r.P95:0.0}** | {r.P99:0.0} | {r.Max:0.0} | {r.Answered:0.0} · {r.Committed:0.0} · {r.AttemptStarted:0.0} · {r.P50:0.0} | {r.BadSignatures} | {r.BusyBefore} % | {r.Cpu} |");
    }

    report.AppendLine();
}

if (throughput.Count > 0)
{
    report.AppendLine(CultureInfo.InvariantCulture,
        $"#### Delivery throughput ({options.Events:N0} `link.clicked` events created at once by enqueueing clicks; one endpoint answering 204)");
    report.AppendLine();
    report.AppendLine("| storage | MaxConcurrencyPerEndpoint | delivered | clicks+events committed after s | all delivered after s | **deliveries/s** (from the first click) | deliveries/s (first to last delivery) | attempts | duplicates | longest pause between deliveries ms | CPU cores: Tern+receiver (+ PG); others | busy before |");
    report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    foreach (var r in throughput)
    {
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {r.Backend} | {r.PerEndpoint} | {r.Delivered:N0}/{r.Events:N0} | {r.CommittedSeconds:0.0} | {r.DeliveredSeconds:0.0}{(r.Delivered < r.Events ? " (deadline)" : "")} | **{r.PerSecond:N0}** | {r.SustainedPerSecond:N0} | {r.Attempts:N0} | {r.Duplicates:N0} | {r.LongestGapMs:0} | {r.Cpu} | {r.BusyBefore} % |");
    }

    report.AppendLine();
    report.AppendLine("Deliveries per second, second by second:");
    report.AppendLine();
    foreach (var r in throughput)
    {
        report.AppendLine(CultureInfo.InvariantCulture, $"- {r.Backend}, {r.PerEndpoint} per endpoint: {string.Join(' ', r.PerSecondTimeline)}");
    }

    report.AppendLine();
}

if (costs.Count > 0)
{
    report.AppendLine(CultureInfo.InvariantCulture,
        $"#### The dispatcher's storage calls, timed alone ({options.Events:N0} deliveries pending to one endpoint; median of 50 rounds, ms)");
    report.AppendLine();
    report.AppendLine("| storage | " + string.Join(" | ", costs[0].Steps.Select(s => s.Step)) + " |");
    report.AppendLine("|---|" + string.Concat(costs[0].Steps.Select(_ => "---:|")));
    foreach (var c in costs)
    {
        report.AppendLine($"| {c.Backend} | " + string.Join(" | ", c.Steps.Select(s => s.Ms.ToString("0.00", CultureInfo.InvariantCulture))) + " |");
    }

    report.AppendLine();
}

SoakReport.AppendSoaks(report, soaks);
SoakReport.AppendBursts(report, bursts);
SoakReport.AppendBacklogs(report, backlogs);
var markdown = report.ToString();
Console.WriteLine(markdown);
if (options.Out is not null)
{
    await File.WriteAllTextAsync(options.Out, markdown);
}

namespace Tern.Bench.Webhooks
{
    internal sealed record Options(
        int Redirects, int PauseMs, IReadOnlyList<int> Windows, int Events, IReadOnlyList<int> Concurrency, int DeadlineSeconds,
        IReadOnlyList<string>? Only, string? Postgres, bool PostgresOnly, string? Out, int QuietMaxBusy, int QuietWaitSeconds,
        SoakSettings Soak, IReadOnlyList<int> SoakEndpoints, int Burst, int Backlog, int BacklogRedirects)
    {
        /// <summary>Whether a scenario runs: the ones <c>--only</c> names, else all but the soak (minutes long).</summary>
        public bool Runs(string scenario) => Only?.Contains(scenario) ?? scenario != "soak";

        public static Options Parse(string[] args)
        {
            var a = new BenchArgs(args);
            var deadline = a.Int("--deadline-seconds", 600);
            var soak = new SoakSettings(a.Int("--soak-rate", 3000), a.Int("--soak-seconds", 120), a.Int("--soak-links", 20000),
                a.Int("--soak-in-flight", 256), CreatesPerSecond: 20, TimeSpan.FromSeconds(deadline), a.Int("--soak-cold", 0) == 1);
            return new Options(
                a.Int("--redirects", 500), a.Int("--pause-ms", 20), a.Ints("--windows", "100,0"), a.Int("--events", 20000),
                a.Ints("--concurrency", "8,64"), deadline, a.Only, a.Postgres, a.PostgresOnly, a.Out,
                a.QuietMaxBusy, a.Int("--quiet-wait-seconds", 1800), soak, a.Ints("--soak-endpoints", "1,4"), a.Int("--burst", 0),
                a.Int("--backlog", 0), a.Int("--backlog-redirects", 1000));
        }
    }
}
