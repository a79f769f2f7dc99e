using System.Globalization;
using System.Text;

namespace Tern.Bench.Webhooks;

/// <summary>The markdown of the soak and burst runs: a summary table, then each run's 5-second rows and drain.</summary>
internal static class SoakReport
{
    public static void AppendSoaks(StringBuilder report, IReadOnlyList<SoakResult> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        var s = runs[0].Settings;
        report.AppendLine(CultureInfo.InvariantCulture, $"#### Webhook soak ({s.Rate:N0} clicks/s for {s.Seconds} s: browser redirects `GET /{{slug}}` over {s.Links:N0} links, open loop with at most {s.MaxInFlight} in flight; a link created with `POST /api/v1/links` at most {s.CreatesPerSecond} times a second meanwhile; every click a `link.clicked` event for each endpoint; {(s.Cold ? "the node's link cache emptied before the clicks, so each link's first click reads storage" : "the links in the node's cache since their creation")})");
        report.AppendLine();
        report.AppendLine("| storage | endpoints | clicks sent · answered · skipped · failed | deliveries expected | delivered | duplicates | bad signatures | backlog when the clicks stopped | **drained after s** | lag p50 ms | lag p99 ms | redirect p50 · p99 ms | sent late p50 · p99 ms | link creation p50 · p99 ms (links) | RSS MiB before → max | CPU cores: Tern+load+receiver (+ PG); others | busy before |");
        report.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---:|");
        foreach (var r in runs)
        {
            var drained = r.DrainSeconds is { } d ? $"**{Ms(d, "0.0")}**" : $"not after {Ms(s.Deadline.TotalSeconds, "0")} (deadline)";
            report.AppendLine(CultureInfo.InvariantCulture, $"| {r.Backend} | {r.Endpoints} | {r.Sent:N0} · {r.Answered:N0} · {r.Skipped:N0} · {r.Failed:N0} | {r.Expected:N0} | {r.Delivered:N0} | {r.Duplicates:N0} | {r.BadSignatures:N0} | {r.Drain.BacklogAtStop:N0} | {drained} | {Ms(r.LagP50, "0")} | {Ms(r.LagP99, "0")} | {Ms(r.RedirectP50, "0.0")} · {Ms(r.RedirectP99, "0.0")} | {Ms(r.LateP50, "0.0")} · {Ms(r.LateP99, "0.0")} | {Ms(r.CreateP50, "0.0")} · {Ms(r.CreateP99, "0.0")} ({r.Created:N0}{(r.CreateFailures > 0 ? $", {r.CreateFailures} failed" : "")}) | {r.RssBeforeMiB:0} → {r.RssMaxMiB:0} | {r.Cpu} | {r.BusyBefore} % |");
        }

        report.AppendLine();
        foreach (var r in runs)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"{r.Backend}, {r.Endpoints} endpoint(s), every 5 s (`soak`: clicks being sent; `drain`: after they stopped):");
            report.AppendLine();
            report.AppendLine("| t s | phase | clicks/s sent | clicks/s answered | skipped | deliveries/s | lag p50 ms | lag p99 ms | backlog | link creation p50 · p99 ms | redirect p50 · p99 ms | RSS MiB |");
            report.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|");
            foreach (var row in r.Rows)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {row.At:0} | {row.Phase} | {row.Sent / row.Seconds:N0} | {row.Answered / row.Seconds:N0} | {row.Skipped:N0} | {row.Delivered / row.Seconds:N0} | {Ms(row.LagP50, "0")} | {Ms(row.LagP99, "0")} | {row.Backlog:N0} | {Ms(row.CreateP50, "0.0")} · {Ms(row.CreateP99, "0.0")} | {Ms(row.RedirectP50, "0.0")} · {Ms(row.RedirectP99, "0.0")} | {row.RssMiB:0} |");
            }

            report.AppendLine();
            AppendDrain(report, r.Drain);
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Link creation p50 · p99 ms every 5 s of the drain: {string.Join("; ", r.Rows.Where(row => !double.IsNaN(row.CreateP50)).Select(row => $"{row.CreateP50:0.0} · {row.CreateP99:0.0}"))}");
        }
    }

    public static void AppendBursts(StringBuilder report, IReadOnlyList<BurstResult> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"#### Webhook burst ({runs[0].Clicks:N0} browser clicks over {runs[0].Links:N0} links enqueued at once, no other load; every click a `link.clicked` event for each endpoint)");
        report.AppendLine();
        report.AppendLine("| storage | endpoints | enqueued in s | clicks+events committed after s | delivered | all delivered after s | **deliveries/s** | first 5 s /s | last 5 s /s | duplicates | bad signatures | lag p50 · p99 s | RSS max MiB | CPU cores: Tern+receiver (+ PG); others | busy before |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|");
        foreach (var r in runs)
        {
            var after = r.DeliveredSeconds is { } d ? Ms(d, "0.0") : "(deadline)";
            var rate = r.DeliveredSeconds is { } t ? $"**{Ms(r.Delivered / t, "N0")}**" : "—";
            report.AppendLine(CultureInfo.InvariantCulture, $"| {r.Backend} | {r.Endpoints} | {r.EnqueuedSeconds:0.0} | {r.CommittedSeconds:0.0} | {r.Delivered:N0}/{r.Expected:N0} | {after} | {rate} | {FirstLast(r.Drain)} | {r.Duplicates:N0} | {r.BadSignatures:N0} | {Ms(r.LagP50 / 1000, "0.0")} · {Ms(r.LagP99 / 1000, "0.0")} | {r.RssMaxMiB:0} | {r.Cpu} | {r.BusyBefore} % |");
        }

        report.AppendLine();
        foreach (var r in runs)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"{r.Backend}, {r.Endpoints} endpoint(s), every 5 s:");
            report.AppendLine();
            report.AppendLine("| t s | deliveries/s | lag p50 ms | lag p99 ms | backlog | RSS MiB |");
            report.AppendLine("|---:|---:|---:|---:|---:|---:|");
            foreach (var row in r.Rows)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {row.At:0} | {row.Delivered / row.Seconds:N0} | {Ms(row.LagP50, "0")} | {Ms(row.LagP99, "0")} | {row.Backlog:N0} | {row.RssMiB:0} |");
            }

            report.AppendLine();
            AppendDrain(report, r.Drain);
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Link creation p50 · p99 ms every 5 s of the drain: {string.Join("; ", r.Rows.Where(row => !double.IsNaN(row.CreateP50)).Select(row => $"{row.CreateP50:0.0} · {row.CreateP99:0.0}"))}");
        }
    }

    public static void AppendBacklogs(StringBuilder report, IReadOnlyList<BacklogResult> runs)
    {
        if (runs.Count == 0)
        {
            return;
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"#### Webhook backlog ({runs[0].Clicks:N0} browser clicks over {runs[0].Links:N0} links stored, with their events and deliveries, by a node with `Tern:Webhooks:Send=false`; then a node that sends starts on the same storage and drains them while a link is created with `POST /api/v1/links` at most 20 times a second{(runs.Any(r => r.Redirects is not null) ? " and redirects come as below" : ", no other load")})");
        report.AppendLine();
        report.AppendLine("| storage | endpoints | stored in s | delivered | all delivered after s | **deliveries/s** | duplicates | bad signatures | link creation p50 · p99 ms (links, failed) | RSS max MiB | CPU cores: Tern+receiver (+ PG); others | busy before |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|");
        foreach (var r in runs)
        {
            var after = r.DeliveredSeconds is { } d ? Ms(d, "0.0") : "(deadline)";
            var rate = r.DeliveredSeconds is { } t ? $"**{Ms(r.Delivered / t, "N0")}**" : "—";
            report.AppendLine(CultureInfo.InvariantCulture, $"| {r.Backend} | {r.Endpoints} | {r.StoredSeconds:0.0} | {r.Delivered:N0}/{r.Expected:N0} | {after} | {rate} | {r.Duplicates:N0} | {r.BadSignatures:N0} | {r.CreateP50:0.0} · {r.CreateP99:0.0} ({r.Created:N0}, {r.CreateFailures:N0}) | {r.RssMaxMiB:0} | {r.Cpu} | {r.BusyBefore} % |");
        }

        if (runs.Any(r => r.Redirects is not null))
        {
            var probe = runs.First(r => r.Redirects is not null).Redirects!;
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Redirects meanwhile: {probe.Rate:N0} browser clicks/s on schedule (open loop, timed from when each was due) to {probe.Links:N0} links of a workspace without webhooks, their first click each reading storage; 10 s on the node that only stores the backlog, then the drain's first 30 s on the node that sends it.");
            report.AppendLine();
            report.AppendLine("| storage | endpoints | before the drain: p50 · p99 ms (answered, failed or skipped) | during the drain: p50 · p99 ms (answered, failed or skipped, over s) |");
            report.AppendLine("|---|---:|---|---|");
            foreach (var r in runs.Where(r => r.Redirects is not null))
            {
                var p = r.Redirects!;
                report.AppendLine(CultureInfo.InvariantCulture, $"| {r.Backend} | {r.Endpoints} | {p.BeforeP50:0.0} · {p.BeforeP99:0.0} ({p.BeforeAnswered:N0}, {p.BeforeFailed:N0}) | {p.DuringP50:0.0} · {p.DuringP99:0.0} ({p.DuringAnswered:N0}, {p.DuringFailed:N0}, {p.DuringSeconds:0}) |");
            }
        }

        report.AppendLine();
        foreach (var r in runs)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"{r.Backend}, {r.Endpoints} endpoint(s): deliveries/s by the backlog at the start of each whole second (the first second, with the node starting, and the last, partial one left out):");
            report.AppendLine();
            report.AppendLine("| backlog | seconds | deliveries/s |");
            report.AppendLine("|---|---:|---:|");
            foreach (var (band, seconds, perSecond) in Bands(r.Drain))
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"| {band} | {seconds} | {perSecond:N0} |");
            }

            report.AppendLine();
            AppendDrain(report, r.Drain);
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"Link creation p50 · p99 ms every 5 s of the drain: {string.Join("; ", r.Rows.Where(row => !double.IsNaN(row.CreateP50)).Select(row => $"{row.CreateP50:0.0} · {row.CreateP99:0.0}"))}");
            if (r.Redirects is not null)
            {
                report.AppendLine();
                report.AppendLine(CultureInfo.InvariantCulture, $"Redirect p50 · p99 ms every 5 s of the drain: {string.Join("; ", r.Rows.Where(row => !double.IsNaN(row.RedirectP50)).Select(row => $"{row.RedirectP50:0.0} · {row.RedirectP99:0.0}"))}");
            }
        }
    }

    /// <summary>The drain's whole seconds grouped by the backlog each began with, from the largest band down.</summary>
    internal static IEnumerable<(string Band, int Seconds, double PerSecond)> Bands(DrainRates drain)
    {
        long[] edges = [long.MaxValue, 900_000, 500_000, 100_000, 20_000, 0];
        var seconds = new List<(long Backlog, int Delivered)>();
        var backlog = drain.BacklogAtStop;
        foreach (var delivered in drain.PerSecond)
        {
            seconds.Add((backlog, delivered));
            backlog -= delivered;
        }

        var whole = seconds.Skip(1).SkipLast(1).ToList();
        for (var i = 0; i + 1 < edges.Length; i++)
        {
            var (high, low) = (edges[i], edges[i + 1]);
            var inBand = whole.Where(s => s.Backlog <= high && s.Backlog > low).ToList();
            if (inBand.Count > 0)
            {
                var name = high == long.MaxValue ? $"more than {low:N0}" : $"{high:N0} to {low:N0}";
                yield return (name, inBand.Count, inBand.Average(s => s.Delivered));
            }
        }
    }

    private static void AppendDrain(StringBuilder report, DrainRates drain)
    {
        if (drain.PerSecond.Count == 0)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"Nothing was owed when the load stopped (backlog {drain.BacklogAtStop:N0}).");
        }
        else if (drain.PerSecond.Count <= 6)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"Drain from a backlog of {drain.BacklogAtStop:N0}, deliveries each second: {string.Join(' ', drain.PerSecond)}");
        }
        else
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"Drain from a backlog of {drain.BacklogAtStop:N0}: {drain.FirstFive:N0} deliveries/s over the first 5 s, {drain.LastFive:N0}/s over the last 5 whole seconds; each second: {string.Join(' ', drain.PerSecond)}");
        }

        report.AppendLine();
    }

    /// <summary>The drain's rate over its first and its last 5 s, when it lasted long enough for them to differ.</summary>
    private static string FirstLast(DrainRates drain) =>
        drain.PerSecond.Count <= 6 ? "— | —" : $"{Ms(drain.FirstFive, "N0")} | {Ms(drain.LastFive, "N0")}";

    /// <summary>A percentile, or a dash when the interval had no sample.</summary>
    private static string Ms(double value, string format) => double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);
}
