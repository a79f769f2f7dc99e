namespace Tern.Server.Webhooks;

/// <summary>
/// What a backlog's drain shares with the API is the machine: its cores, and on SQLite the one writer (where
/// <see cref="Tern.Server.Storage.WriteBudget"/> keeps each background transaction short, but a drain at full speed
/// still fills both cores). While the API writes, the dispatcher therefore sends at most the pace a second, or a
/// quarter more than deliveries arrive on this node if that is more: a backlog drains at the pace and leaves the
/// machine to the API, while deliveries that keep arriving are sent as fast as they come. The pace is
/// <paramref name="configuredPerSecond"/> (<c>Tern:Webhooks:PacedSendsPerSecond</c>) while the API's writes stay
/// fast; each second in which most of them were slow and the pace held sends back (<see cref="Judge"/>) takes a fifth
/// off it, down to a sixth of the configured pace, and each other second gives back a twelfth. (A pace that held
/// nothing back is not what slows the API: deliveries arriving as they are sent keep their headroom.) Without API
/// writes, or with a pace of 0, sends are not paced. A node's dispatcher starts at half the pace
/// (<paramref name="startingShare"/>), which comes back to the whole by the same twelfths: in a node's first seconds its
/// code is still being compiled and its connections opened, and a drain at full pace took the API's writes past 5 ms.
/// Touched by the dispatcher's loop only.
/// </summary>
public sealed class DrainPace(int configuredPerSecond = DrainPace.DefaultPerSecond, double startingShare = 1)
{
    /// <summary>The pace a backlog keeps while the API writes and its writes stay fast, unless configured otherwise.</summary>
    public const int DefaultPerSecond = 6000;

    /// <summary>Fewer API writes than this in a second say nothing about how fast they are.</summary>
    public const int WritesToJudge = 3;

    private readonly int _configured = configuredPerSecond;
    private double _pace = configuredPerSecond * startingShare;

    /// <summary>How far ahead of the pace sends may start at once: 50 ms of it.</summary>
    private const double BurstSeconds = 0.05;

    /// <summary>Over how many whole seconds the arrival rate is taken.</summary>
    private const int ArrivalSeconds = 5;

    private readonly long[] _arrivals = new long[ArrivalSeconds + 1];
    private long _second = -1;
    private double _tokens;
    private long _refilledAt;
    private bool _paced;
    private bool _heldBack;

    /// <summary>Deliveries this node just queued.</summary>
    public void Arrived(int deliveries, long nowMs)
    {
        Roll(nowMs);
        _arrivals[nowMs / 1000 % _arrivals.Length] += deliveries;
    }

    /// <summary>The pace a drain keeps now while the API writes, before arrivals raise it; 0 when it never paces. Read by metrics.</summary>
    public double Current => _configured <= 0 ? 0 : Volatile.Read(ref _pace);

    /// <summary>
    /// The API's foreground writes of the last second, and how many were slow: slower the pace when most were and it
    /// held sends back since the last judgement, else bring it back towards the configured one.
    /// </summary>
    public void Judge(long writes, long slow)
    {
        Volatile.Write(ref _pace, _heldBack && writes >= WritesToJudge && slow * 2 > writes
            ? Math.Max(_configured / 6.0, _pace * 0.8)
            : Math.Min(_configured, _pace + (_configured / 12.0)));
        _heldBack = false;
    }

    /// <summary>The pace kept ready sends waiting (the dispatcher found <see cref="Waiting"/> with sends ready).</summary>
    public void HeldBack() => _heldBack = true;

    /// <summary>The pace now, in sends a second: the pace, or a quarter above the recent arrivals.</summary>
    public double PerSecond(long nowMs)
    {
        Roll(nowMs);
        var current = nowMs / 1000 % _arrivals.Length;
        var whole = 0L;
        for (var i = 0; i < _arrivals.Length; i++)
        {
            whole += i == current ? 0 : _arrivals[i];
        }

        return Math.Max(_pace, 1.25 * whole / ArrivalSeconds);
    }

    /// <summary>How many sends may start now: unbounded unless <paramref name="apiWrites"/>.</summary>
    public int Allowance(long nowMs, bool apiWrites)
    {
        if (!apiWrites || _configured <= 0)
        {
            _paced = false;
            return int.MaxValue;
        }

        var rate = PerSecond(nowMs);
        if (!_paced)
        {
            (_paced, _tokens, _refilledAt) = (true, rate * BurstSeconds, nowMs);
        }

        _tokens = Math.Min(rate * BurstSeconds, _tokens + (nowMs - _refilledAt) * rate / 1000);
        _refilledAt = nowMs;
        return (int)Math.Max(0, _tokens);
    }

    /// <summary><paramref name="sends"/> started under the last allowance.</summary>
    public void Took(int sends)
    {
        if (_paced)
        {
            _tokens -= sends;
        }
    }

    /// <summary>Paced, with no send allowed right now: the loop should look again within a few milliseconds.</summary>
    public bool Waiting => _paced && _tokens < 1;

    private void Roll(long nowMs)
    {
        var second = nowMs / 1000;
        if (_second < 0 || second - _second > _arrivals.Length)
        {
            Array.Clear(_arrivals);
        }
        else
        {
            for (var s = _second + 1; s <= second; s++)
            {
                _arrivals[s % _arrivals.Length] = 0;
            }
        }

        _second = Math.Max(_second, second);
    }
}
