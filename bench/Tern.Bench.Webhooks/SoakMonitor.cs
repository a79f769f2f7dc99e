using System.Diagnostics;
using System.Globalization;

namespace Tern.Bench.Webhooks;

/// <summary>
/// One interval of a soak or burst run. Counts are of the interval; <see cref="Backlog"/> is at its end: the
/// deliveries owed (clicks answered × endpoints, or the burst's clicks × endpoints) minus the distinct ones received.
/// </summary>
internal sealed record SoakRow(
    string Phase, double At, double Seconds, long Sent, long Answered, long Skipped, long Failed, long Delivered,
    double LagP50, double LagP99, long Backlog, double CreateP50, double CreateP99, double RedirectP50, double RedirectP99, double RssMiB);

/// <summary>
/// Deliveries per second after the load stopped (each whole second; the last entry may cover part of one), the
/// backlog when it stopped, and the rate over the first and the last five entries.
/// </summary>
internal sealed record DrainRates(long BacklogAtStop, IReadOnlyList<int> PerSecond, double FirstFive, double LastFive);

/// <summary>Takes a <see cref="SoakRow"/> every 5 s from the load, the receiver's ledger and the process, and watches the drain.</summary>
internal sealed class SoakMonitor
{
    private readonly SoakLedger _ledger;
    private readonly Func<long> _expected;
    private readonly ClickGenerator? _clicks;
    private readonly LinkCreator? _creator;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly List<float> _lags = [];
    private Counters _from;
    private Counters _previousFrom;
    private Samples _previous = new([], [], []);

    public SoakMonitor(SoakLedger ledger, Func<long> expected, ClickGenerator? clicks = null, LinkCreator? creator = null)
    {
        _ledger = ledger;
        _expected = expected;
        _clicks = clicks;
        _creator = creator;
        _from = Read();
    }

    public List<SoakRow> Rows { get; } = [];

    public double RssMaxMiB { get; private set; }

    public long Backlog => _expected() - _ledger.Delivered;

    /// <summary>Every delivery's lag so far (ms), for the run's percentiles.</summary>
    public IEnumerable<double> Lags => _lags.Select(l => (double)l);

    /// <summary>A row every 5 s until <paramref name="load"/> ends, then one for the rest of the interval.</summary>
    public async Task WatchAsync(Task load, string phase)
    {
        using (var tick = new PeriodicTimer(TimeSpan.FromSeconds(5)))
        {
            while (!load.IsCompleted)
            {
                var next = tick.WaitForNextTickAsync().AsTask();
                await Task.WhenAny(next, load);
                if (next.IsCompleted)
                {
                    Take(phase);
                }
            }
        }

        await load;
        Take(phase, last: true);
    }

    /// <summary>Counts deliveries each second until nothing is owed or <paramref name="deadline"/> passes, with a row every 5 s.</summary>
    public async Task<DrainRates> DrainAsync(TimeSpan deadline, string phase)
    {
        var backlogAtStop = Backlog;
        var perSecond = new List<int>();
        var clock = Stopwatch.StartNew();
        var last = _ledger.Delivered;
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (Backlog > 0 && clock.Elapsed < deadline)
        {
            await tick.WaitForNextTickAsync();
            var delivered = _ledger.Delivered;
            perSecond.Add((int)(delivered - last));
            last = delivered;
            if (perSecond.Count % 5 == 0)
            {
                Take(phase);
            }
        }

        if (perSecond.Count % 5 != 0)
        {
            Take(phase, last: true);
        }

        var whole = perSecond.Count > 1 ? perSecond.Take(perSecond.Count - 1).ToList() : perSecond;
        return new DrainRates(backlogAtStop, perSecond,
            whole.Count == 0 ? 0 : whole.Take(5).Average(), whole.Count == 0 ? 0 : whole.TakeLast(5).Average());
    }

    /// <summary>
    /// Closes the current interval. The <paramref name="last"/> one of a phase, when shorter than a second, is
    /// folded into the row before it rather than shown as rates over a sliver of time.
    /// </summary>
    public SoakRow Take(string phase, bool last = false)
    {
        var now = Read();
        var lags = _ledger.TakeLags();
        _lags.AddRange(lags);
        var samples = new Samples([.. lags.Select(l => (double)l)], _creator?.Latency.Take() ?? [], _clicks?.Latency.Take() ?? []);
        var from = _from;
        if (last && Rows.Count > 0 && Rows[^1].Phase == phase && Stopwatch.GetElapsedTime(_from.At, now.At) < TimeSpan.FromSeconds(1))
        {
            Rows.RemoveAt(Rows.Count - 1);
            from = _previousFrom;
            samples = new Samples([.. _previous.Lags, .. samples.Lags], [.. _previous.Created, .. samples.Created], [.. _previous.Redirects, .. samples.Redirects]);
        }

        var row = new SoakRow(phase, Stopwatch.GetElapsedTime(_start, now.At).TotalSeconds, Stopwatch.GetElapsedTime(from.At, now.At).TotalSeconds,
            now.Sent - from.Sent, now.Answered - from.Answered, now.Skipped - from.Skipped, now.Failed - from.Failed, now.Delivered - from.Delivered,
            Percentiles.Of(samples.Lags, 50), Percentiles.Of(samples.Lags, 99), Backlog, Percentiles.Of(samples.Created, 50),
            Percentiles.Of(samples.Created, 99), Percentiles.Of(samples.Redirects, 50), Percentiles.Of(samples.Redirects, 99), Machine.RssMiB());
        (_previousFrom, _previous, _from) = (from, samples, now);
        Rows.Add(row);
        RssMaxMiB = Math.Max(RssMaxMiB, row.RssMiB);
        Machine.Log(string.Create(CultureInfo.InvariantCulture,
            $"  {row.Phase} {row.At,6:0.0} s: {(_clicks is null ? "" : $"{row.Answered / row.Seconds,7:0} clicks/s answered, ")}{row.Delivered / row.Seconds,7:0} deliveries/s, " +
            $"lag p50 {row.LagP50:0} ms p99 {row.LagP99:0}, backlog {row.Backlog:N0}, RSS {row.RssMiB:0} MiB"));
        return row;
    }

    private Counters Read() => new(Stopwatch.GetTimestamp(), _clicks?.Sent ?? 0, _clicks?.Answered ?? 0, _clicks?.Skipped ?? 0,
        _clicks?.Failed ?? 0, _ledger.Delivered);

    private readonly record struct Counters(long At, long Sent, long Answered, long Skipped, long Failed, long Delivered);

    private sealed record Samples(List<double> Lags, List<double> Created, List<double> Redirects);
}
