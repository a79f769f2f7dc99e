using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace Tern.Bench.Webhooks;

/// <summary>Latencies (ms) taken one interval at a time, kept for the whole run as well.</summary>
internal sealed class SampleWindow
{
    private readonly Lock _gate = new();
    private readonly List<double> _all = [];
    private List<double> _current = [];

    public void Add(double ms)
    {
        lock (_gate)
        {
            _current.Add(ms);
        }
    }

    /// <summary>The samples since the previous call.</summary>
    public List<double> Take()
    {
        lock (_gate)
        {
            var taken = _current;
            _all.AddRange(taken);
            _current = [];
            return taken;
        }
    }

    /// <summary>Every sample so far.</summary>
    public List<double> All()
    {
        lock (_gate)
        {
            return [.. _all, .. _current];
        }
    }
}

/// <summary>
/// Open-loop browser clicks: redirect <c>k</c> of the run is due at <c>k / rate</c> seconds and is sent then,
/// whether or not earlier ones were answered, to a random link of <paramref name="slugs"/> with a browser
/// User-Agent and referrer from <see cref="TrafficMix"/>. At most <paramref name="maxInFlight"/> wait for their
/// answer; a click due while that many wait is skipped and counted. Latency is timed from when the click was due
/// (so a generator that fell behind does not hide the wait) to the 302; <see cref="Late"/> is how long after it
/// was due each click was sent.
/// </summary>
internal sealed class ClickGenerator(HttpClient client, IReadOnlyList<string> slugs, int rate, int maxInFlight, int seed)
{
    private long _sent;
    private long _answered;
    private long _skipped;
    private long _failed;
    private int _inFlight;

    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Clicks answered with a 302: each one a <c>link.clicked</c> event for every endpoint.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Clicks answered otherwise, or not at all.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public SampleWindow Latency { get; } = new();

    public SampleWindow Late { get; } = new();

    /// <summary>Sends <c>rate × duration</c> clicks on schedule, then waits (up to 60 s) for the ones in flight.</summary>
    public async Task RunAsync(TimeSpan duration)
    {
        // A thread of its own, waking every millisecond: the thread pool is busy with Tern and would delay the schedule.
        await Task.Factory.StartNew(() => Send(duration), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var waited = Stopwatch.StartNew();
        while (Volatile.Read(ref _inFlight) > 0 && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(5);
        }
    }

    private void Send(TimeSpan duration)
    {
        var mix = new TrafficMix(seed, browsersOnly: true);
        var total = (long)(rate * duration.TotalSeconds);
        var start = Stopwatch.GetTimestamp();
        var due = 0L;
        while (due < total)
        {
            var target = Math.Min(total, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate));
            for (; due < target; due++)
            {
                if (Volatile.Read(ref _inFlight) >= maxInFlight)
                {
                    Interlocked.Increment(ref _skipped);
                    continue;
                }

                Interlocked.Increment(ref _inFlight);
                Interlocked.Increment(ref _sent);
                _ = SendAsync(slugs[mix.Next(slugs.Count)], mix.Agent(), mix.Referrer(), start + (due * Stopwatch.Frequency / rate));
            }

            Thread.Sleep(1);
        }
    }

    private async Task SendAsync(string slug, string agent, string? referrer, long dueAt)
    {
        Late.Add(Stopwatch.GetElapsedTime(dueAt).TotalMilliseconds);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/" + slug, UriKind.Relative));
            request.Headers.TryAddWithoutValidation("User-Agent", agent);
            if (referrer is not null)
            {
                request.Headers.TryAddWithoutValidation("Referer", referrer);
            }

            request.Headers.TryAddWithoutValidation("Accept-Language", "en-US,en;q=0.9");
            request.Headers.TryAddWithoutValidation(BenchHost.CountryHeader, "US");
            using var response = await client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Found)
            {
                Latency.Add(Stopwatch.GetElapsedTime(dueAt).TotalMilliseconds);
                Interlocked.Increment(ref _answered);
            }
            else
            {
                Interlocked.Increment(ref _failed);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Interlocked.Increment(ref _failed);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}

/// <summary>Creates links with <c>POST /api/v1/links</c> one at a time, at most <paramref name="perSecond"/> a second, timing each.</summary>
internal sealed class LinkCreator(HttpClient api, int perSecond)
{
    private long _failed;

    public SampleWindow Latency { get; } = new();

    public long Failed => Interlocked.Read(ref _failed);

    public async Task RunAsync(CancellationToken stop)
    {
        var spacing = TimeSpan.FromSeconds(1.0 / perSecond);
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var response = await api.PostAsJsonAsync("/api/v1/links", new { url = $"https://brand.example/soak/new/{i}?utm_source=sms" }, stop);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    Latency.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }

                var rest = spacing - Stopwatch.GetElapsedTime(started);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref _failed);
            }
        }
    }
}
