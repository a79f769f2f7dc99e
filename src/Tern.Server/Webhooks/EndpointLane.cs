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
    public bool MoreWaiting { get; set; }

    /// <summary>Until then (Unix ms) the endpoint counts as just given work, and claims look at it on every wake.</summary>
    public long AnnouncedUntil { get; set; }

    /// <summary>While the endpoint rests after a run of failures (Unix ms), nothing new is sent to it.</summary>
    public long RestingUntil { get; private set; }

    public int FailuresInARow { get; private set; }

    /// <summary>Still enabled as of the last look at the subscriptions.</summary>
    public bool Enabled { get; set; } = true;

    public bool Idle => InFlight == 0 && Ready.Count == 0;

    /// <summary>
    /// Whether the lane wants more from storage: it has less than one window of work in hand, and work is likely
    /// (the last claim was full, it was just announced, or it is time for the periodic look).
    /// </summary>
    public int Wanted(long now, bool periodicLook)
    {
        var inHand = Ready.Count + InFlight;
        var limit = Concurrency.Limit;
        if (!Enabled || now < RestingUntil || inHand > limit || !(MoreWaiting || AnnouncedUntil > now || periodicLook))
        {
            return 0;
        }

        return Math.Min(500, (2 * limit) - inHand);
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
