using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Tern.Bench.Webhooks;

/// <summary>
/// The receiver's side of a soak: which <c>webhook-id</c>s each endpoint got (a 128-bit digest per delivery, so
/// that millions of them fit in a few tens of MB), how many were new and how many repeated one already delivered
/// to the same endpoint, and each new delivery's lag: its arrival (wall clock) minus the click's time from the
/// event (<c>data.click.timestamp</c>, else the envelope's <c>timestamp</c>).
/// </summary>
internal sealed class SoakLedger
{
    private static readonly long UnixEpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;
    private readonly HashSet<UInt128>[] _seen;
    private readonly Lock _gate = new();
    private readonly long _wallAnchorTicks = DateTimeOffset.UtcNow.UtcTicks;
    private readonly long _tickAnchor = Stopwatch.GetTimestamp();
    private List<float> _lags = [];
    private long _delivered;
    private long _duplicates;
    private long _unknown;
    private long _lastAt;

    public SoakLedger(int endpoints)
    {
        _seen = [.. Enumerable.Range(0, endpoints).Select(_ => new HashSet<UInt128>())];
    }

    /// <summary>Distinct deliveries (per endpoint) since the last <see cref="Reset"/>.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Deliveries of a <c>webhook-id</c> the same endpoint already had.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Deliveries to an endpoint the run did not subscribe, or whose body had no timestamp.</summary>
    public long Unknown => Interlocked.Read(ref _unknown);

    /// <summary>Stopwatch timestamp of the latest distinct delivery.</summary>
    public long LastAt => Interlocked.Read(ref _lastAt);

    public void Observe(int endpoint, string webhookId, long at, ReadOnlyMemory<byte> body)
    {
        if (endpoint < 0 || endpoint >= _seen.Length)
        {
            Interlocked.Increment(ref _unknown);
            return;
        }

        var key = Digest(webhookId);
        var set = _seen[endpoint];
        bool added;
        lock (set)
        {
            added = set.Add(key);
        }

        if (!added)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        var clickMs = ClickTimeMs(body);
        if (double.IsNaN(clickMs))
        {
            Interlocked.Increment(ref _unknown);
        }
        else
        {
            var lag = WallMs(at) - clickMs;
            lock (_gate)
            {
                _lags.Add((float)lag);
            }
        }

        Interlocked.Increment(ref _delivered);
        long last;
        while ((last = Interlocked.Read(ref _lastAt)) < at && Interlocked.CompareExchange(ref _lastAt, at, last) != last)
        {
        }
    }

    /// <summary>The lags (ms) of the deliveries since the previous call.</summary>
    public List<float> TakeLags()
    {
        lock (_gate)
        {
            var lags = _lags;
            _lags = new List<float>(Math.Max(1024, lags.Count));
            return lags;
        }
    }

    /// <summary>Starts the counts and lags afresh (after a warm-up); the ids seen so far still reveal duplicates.</summary>
    public void Reset()
    {
        TakeLags();
        Interlocked.Exchange(ref _delivered, 0);
        Interlocked.Exchange(ref _duplicates, 0);
        Interlocked.Exchange(ref _unknown, 0);
    }

    /// <summary>Unix milliseconds (with fractions) of a Stopwatch timestamp.</summary>
    public double WallMs(long at) =>
        (_wallAnchorTicks - UnixEpochTicks + Stopwatch.GetElapsedTime(_tickAnchor, at).Ticks) / (double)TimeSpan.TicksPerMillisecond;

    private static UInt128 Digest(string webhookId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(webhookId), hash);
        return new UInt128(BitConverter.ToUInt64(hash), BitConverter.ToUInt64(hash[8..]));
    }

    /// <summary><c>data.click.timestamp</c> of the event, else its <c>timestamp</c>, in Unix ms; NaN when it has neither.</summary>
    private static double ClickTimeMs(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (!(root.TryGetProperty("data", out var data) && data.TryGetProperty("click", out var click) && click.TryGetProperty("timestamp", out var stamp))
                && !root.TryGetProperty("timestamp", out stamp))
            {
                return double.NaN;
            }

            return (stamp.GetDateTimeOffset().UtcTicks - UnixEpochTicks) / (double)TimeSpan.TicksPerMillisecond;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return double.NaN;
        }
    }
}
