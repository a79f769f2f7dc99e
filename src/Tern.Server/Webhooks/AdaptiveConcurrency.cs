namespace Tern.Server.Webhooks;

/// <summary>How an attempt went, as far as the receiver's capacity is concerned.</summary>
public enum ReceiverSignal
{
    /// <summary>The receiver answered (2xx, or a refusal such as 400 or 410 that says nothing about load).</summary>
    Answered,

    /// <summary>The receiver is struggling: 429, 5xx, a timeout or a connection that failed.</summary>
    Overloaded,
}

/// <summary>
/// Requests in flight to one endpoint, adapted to how it answers (additive increase, multiplicative decrease, as
/// TCP does). While answers come back as fast as the fastest seen recently, each window of answers that used the
/// limit raises it: by one per answer until the first sign of trouble (slow start), by one per window after.
/// An answer much slower than that baseline takes a tenth off, an overload signal halves it; at most once a window,
/// so one bad moment is not counted once per request that was in flight. Pure: the caller supplies latencies.
/// </summary>
public sealed class AdaptiveConcurrency
{
    private const double SlowFactor = 2.0;
    private const double SlowMarginMs = 5.0;
    private const double BaselineForgetting = 1.05;

    private readonly int _max;
    private double _limit;
    private bool _slowStart = true;
    private double _baselineMs = double.PositiveInfinity;
    private double _windowMinMs = double.PositiveInfinity;
    private int _windowAnswers;
    private int _sinceDecrease;

    public AdaptiveConcurrency(int initial, int max)
    {
        _max = Math.Max(1, max);
        _limit = Math.Clamp(initial, 1, _max);
        _sinceDecrease = int.MaxValue;
    }

    /// <summary>Requests that may be in flight now.</summary>
    public int Limit => (int)_limit;

    /// <summary>The fastest recent answer, in milliseconds (infinity before the first).</summary>
    public double BaselineMs => _baselineMs;

    /// <summary>
    /// An attempt ended. <paramref name="latencyMs"/> is how long the receiver took; <paramref name="saturated"/> says
    /// whether the limit was in use when it was sent (a limit that is not used is not raised).
    /// </summary>
    public void OnCompleted(ReceiverSignal signal, double latencyMs, bool saturated)
    {
        _sinceDecrease = _sinceDecrease == int.MaxValue ? int.MaxValue : _sinceDecrease + 1;
        if (signal == ReceiverSignal.Overloaded)
        {
            Decrease(0.5);
            return;
        }

        Observe(latencyMs);
        if (latencyMs > (_baselineMs * SlowFactor) + SlowMarginMs)
        {
            Decrease(0.9);
        }
        else if (saturated)
        {
            _limit = Math.Min(_max, _limit + (_slowStart ? 1.0 : 1.0 / _limit));
        }
    }

    private void Decrease(double factor)
    {
        _slowStart = false;
        if (_sinceDecrease < Limit)
        {
            return; // this window has been counted already
        }

        _limit = Math.Max(1, Math.Floor(_limit * factor));
        _sinceDecrease = 0;
    }

    /// <summary>The baseline is the fastest answer of recent windows; it slowly forgets an old, lower one.</summary>
    private void Observe(double latencyMs)
    {
        _windowMinMs = Math.Min(_windowMinMs, latencyMs);
        if (double.IsPositiveInfinity(_baselineMs))
        {
            _baselineMs = latencyMs;
        }

        if (++_windowAnswers < Math.Max(16, Limit))
        {
            return;
        }

        _baselineMs = Math.Min(_windowMinMs, _baselineMs * BaselineForgetting);
        _windowMinMs = double.PositiveInfinity;
        _windowAnswers = 0;
    }
}
