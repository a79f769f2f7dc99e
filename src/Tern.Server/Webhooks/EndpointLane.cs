namespace Tern.Server.Webhooks;

/// <summary>
/// One endpoint's share of this node's dispatcher: the deliveries it has claimed and not yet sent, the requests in
/// flight, and how many may be (<see cref="AdaptiveConcurrency"/>). Touched by the dispatcher's loop only.
/// </summary>
internal sealed class EndpointLane(string webhookId, int initialConcurrency, int maxConcurrency)
{
    /// <summary>Failed attempts in a row after which the endpoint is given a rest before the next one.</summary>
    public const int FailuresBeforeRest = 5;

    private static readonly TimeSpan LongestRest = TimeSpan.FromSeconds(30);

    public string WebhookId { get; } = webhookId;

    public Queue<ClaimedDelivery> Ready { get; } = new();

    public AdaptiveConcurrency Concurrency { get; } = new(initialConcurrency, maxConcurrency);

    public int InFlight { get; set; }

    /// <summary>The last claim filled what was asked: more is probably waiting.</summary>
    public bool MoreWaiting { get; private set; }

    /// <summary>Until then (Unix ms) the endpoint counts as just given work, and claims look at it on every wake.</summary>
    public long AnnouncedUntil { get; set; }

    /// <summary>
    /// The last claim found nothing and no commit on this node was signalled since it started: the deliveries an
    /// announcement promised are not committed yet, so the lane waits for the next commit (or the periodic look)
    /// instead of claiming again at once.
    /// </summary>
    public bool AwaitingCommit { get; set; }

    /// <summary>While the endpoint rests after a run of failures (Unix ms), nothing new is sent to it.</summary>
    public long RestingUntil { get; private set; }

    public int FailuresInARow { get; private set; }

    /// <summary>Attempts this node made to the endpoint since it started, that succeeded and that failed.</summary>
    public long Succeeded { get; private set; }

    public long Failed { get; private set; }

    /// <summary>Still enabled as of the last look at the subscriptions.</summary>
    public bool Enabled { get; set; } = true;

    private int _window;
    private double _claimSeconds;
    private long _second;
    private int _sentThisSecond;
    private int _sentLastSecond;

    public bool Idle => InFlight == 0 && Ready.Count == 0;

    /// <summary>
    /// How much the lane claims at once: what it sends, at its recent pace, while the next claim is on its way (twice
    /// the time the last claim took, at least half a second), or twice the last claim when that one was full (a
    /// backlog is found in a few claims, not a few seconds); at least two rounds of its limit, at most
    /// <see cref="LargestWindow"/>. A claim is a write that may queue behind others (on SQLite, behind the click
    /// writer), so a fast endpoint is fed in large windows and a slow one in small.
    /// </summary>
    public int Window => (int)Math.Clamp(Math.Max(_window, _sentLastSecond * Math.Max(0.5, 2 * _claimSeconds)), 2 * Concurrency.Limit, LargestWindow);

    /// <summary>A claim for the lane took <paramref name="taken"/> of the <paramref name="asked"/>, in <paramref name="seconds"/>.</summary>
    public void Claimed(int asked, int taken, double seconds)
    {
        MoreWaiting = taken == asked;
        _window = MoreWaiting ? Math.Min(LargestWindow, 2 * Math.Max(_window, asked)) : taken;
        _claimSeconds = seconds;
    }

    /// <summary>The most deliveries one claim takes for an endpoint.</summary>
    public const int LargestWindow = 2000;

    /// <summary>
    /// How many deliveries the lane wants from storage now: none while it has more than half a window in hand, else
    /// enough to hold a window and a round more, when work is likely (the last claim was full, it was just announced,
    /// or it is time for the periodic look).
    /// </summary>
    public int Wanted(long now, bool periodicLook)
    {
        var inHand = Ready.Count + InFlight;
        var window = Window;
        if (!Enabled || now < RestingUntil || inHand > Math.Max(Concurrency.Limit, window / 2)
            || !(MoreWaiting || AnnouncedUntil > now || periodicLook) || (AwaitingCommit && !periodicLook))
        {
            return 0;
        }

        return Math.Min(LargestWindow, window + Concurrency.Limit - inHand);
    }

    /// <summary>Counts a request sent, for the lane's pace (requests in the last whole second).</summary>
    public void CountSent(long now)
    {
        var second = now / 1000;
        if (second != _second)
        {
            _sentLastSecond = second == _second + 1 ? _sentThisSecond : 0;
            _sentThisSecond = 0;
            _second = second;
        }

        _sentThisSecond++;
    }

    /// <summary>True when another request may go out now.</summary>
    public bool CanSend(long now) =>
        Ready.Count > 0 && now >= RestingUntil && InFlight < (FailuresInARow >= FailuresBeforeRest ? 1 : Concurrency.Limit);

    /// <summary>
    /// Keeps the run of failures: a success ends it; from the fifth failure in a row the endpoint rests before the
    /// next attempt, a second, then twice as long each time, at most 30 s, and only one request probes it then.
    /// </summary>
    public void Count(bool succeeded, long now)
    {
        FailuresInARow = succeeded ? 0 : FailuresInARow + 1;
        _ = succeeded ? Succeeded++ : Failed++;
        if (FailuresInARow >= FailuresBeforeRest)
        {
            var rest = Math.Min(LongestRest.TotalMilliseconds, 1000 * Math.Pow(2, Math.Min(10, FailuresInARow - FailuresBeforeRest)));
            RestingUntil = now + (long)rest;
        }
        else
        {
            RestingUntil = 0;
        }
    }
}
