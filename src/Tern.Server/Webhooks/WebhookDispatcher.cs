using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Polly;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

/// <summary>
/// Sends due deliveries. Each endpoint is a lane: it claims its own due deliveries a window at a time (so nodes share
/// the work and none sends what another has claimed), keeps as many requests in flight as the receiver handles well
/// (<see cref="AdaptiveConcurrency"/>), rests after a run of failures, and never waits on another endpoint's backlog.
/// One loop owns the lanes: it starts sends, takes their outcomes, and claims more when a lane has less than a window
/// in hand; storage is asked per window, not per delivery. Attempts are recorded in batches by a second loop (a group
/// commit); a delivery stays claimed until its attempt is stored. Woken by the outbox the moment an event commits,
/// so a first attempt leaves within milliseconds; otherwise every lane is looked at once a second.
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan AnnouncedFor = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan AnnouncedWake = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan PacedWake = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Attempts sent but not yet stored, at most: past it no new request starts until the recorder catches up, so a
    /// storage that slows down slows the sending with it instead of letting claims lapse and deliveries go twice.
    /// </summary>
    internal const int MostUnrecorded = 20_000;

    /// <summary>Attempts stored in one transaction, at most.</summary>
    private const int RecordBatch = 1_000;

    private readonly DeliveryQueue _queue;
    private readonly WebhookStore _webhooks;
    private readonly EventOutbox _outbox;
    private readonly DeliveryAnnouncements _announcements;
    private readonly WebhookOptions _options;
    private readonly RetrySchedule _schedule;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _recordRetry;
    private readonly Dictionary<string, EndpointLane> _lanes = new(StringComparer.Ordinal);

    // Commits on this node signalled through the outbox so far (read by the loop only): a claim that found nothing
    // and saw no new one since it started leaves its lane waiting for the next.
    private long _commitsSignalled;
    private readonly Database _database;
    private readonly DrainPace _pace;
    private long _judgedSecond;
    private Task<bool>? _outcomeWait;
    private Task<bool>? _signalWait;
    private Task<bool>? _recordedWait;
    private readonly Channel<Outcome> _outcomes = Channel.CreateUnbounded<Outcome>(new() { SingleReader = true });
    private readonly Channel<AttemptRecord> _records = Channel.CreateUnbounded<AttemptRecord>(new() { SingleReader = true });
    private readonly Channel<bool> _recorded = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private int _inFlight;
    private int _unrecorded;
    private int _nextLane;
    private long _attempts;

    public WebhookDispatcher(
        DeliveryQueue queue, WebhookStore webhooks, EventOutbox outbox, DeliveryAnnouncements announcements, IOptions<WebhookOptions> options,
        Database database, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        (_queue, _webhooks, _outbox, _announcements, _options, _database, _timeProvider, _logger) =
            (queue, webhooks, outbox, announcements, options.Value, database, timeProvider, logger);
        _schedule = RetrySchedule.Parse(_options.RetryDelaysSeconds);
        _pace = new DrainPace(_options.PacedSendsPerSecond, startingShare: 0.5);
        _recordRetry = StorageRetry.Times(4, timeProvider, _ => true, (exception, _) => Log.DispatchFailed(logger, exception));
        _http = new HttpClient(SsrfGuard.CreateHandler(
            _options.AllowPrivateNetworks, TimeSpan.FromSeconds(_options.TimeoutSeconds), _options.ParsedAllowedHosts))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Tern-Webhooks/1.0");
    }

    /// <summary>Attempts made since start, successful or not.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>The most attempts a second this node starts while the API writes (<see cref="DrainPace"/>); 0 when it never paces.</summary>
    public double DrainPace => _pace.Current;

    /// <summary>This node's view of each endpoint: requests in flight, the current limit, and attempts made. Read by metrics.</summary>
    public IReadOnlyList<LaneView> Lanes()
    {
        lock (_lanes)
        {
            return [.. _lanes.Values.Select(l => new LaneView(l.WebhookId, l.InFlight, l.Concurrency.Limit, l.Succeeded, l.Failed))];
        }
    }

    /// <summary>This node's concurrency limit for the endpoint, or null when it has not sent to it.</summary>
    public int? ConcurrencyOf(string webhookId)
    {
        lock (_lanes)
        {
            return _lanes.TryGetValue(webhookId, out var lane) ? lane.Concurrency.Limit : null;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Send)
        {
            Log.NotSendingWebhooks(_logger);
            return;
        }

        var recorder = Task.Run(RecordAsync, CancellationToken.None);
        try
        {
            await PumpAsync(stoppingToken);
        }
        finally
        {
            await StopAsync();
            // Attempts already made are stored before the dispatcher stops (for as long as the host allows).
            _records.Writer.TryComplete();
            await recorder;
        }
    }

    /// <summary>
    /// The loop that owns the lanes. A claim runs beside it (one at a time), so sends keep starting and outcomes keep
    /// arriving while the claim waits for storage.
    /// </summary>
    private async Task PumpAsync(CancellationToken stoppingToken)
    {
        var nextLook = 0L;
        Claim? claim = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_outbox.Signals.TryRead(out _)) // whatever it announced is looked at below
                {
                    _commitsSignalled++;
                    foreach (var lane in _lanes.Values)
                    {
                        lane.AwaitingCommit = false;
                    }
                }
                var now = Now();
                TakeOutcomes(now);
                var periodicLook = now >= nextLook;
                if (periodicLook)
                {
                    await RefreshLanesAsync(stoppingToken);
                    nextLook = now + (long)Poll.TotalMilliseconds;
                }

                TakeAnnouncements(now);
                if (claim is { Task.IsCompleted: true })
                {
                    TakeClaimed(claim);
                    claim = null;
                }

                StartSends(now, stoppingToken);
                claim ??= StartClaim(now, periodicLook, stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                Log.DispatchFailed(_logger, exception);
                await WaitAsync(Poll, null, stoppingToken);
                continue;
            }

            var announced = _lanes.Values.Any(l => l.AnnouncedUntil > Now() && l.Wanted(Now(), false) > 0);
            var paced = _pace.Waiting && _lanes.Values.Any(l => l.Ready.Count > 0);
            if (paced)
            {
                _pace.HeldBack();
            }

            await WaitAsync(paced ? PacedWake : announced ? AnnouncedWake : TimeSpan.FromMilliseconds(Math.Max(1, nextLook - Now())), claim?.Task, stoppingToken);
        }

        if (claim is not null)
        {
            await claim.Task.ContinueWith(_ => { }, TaskScheduler.Default);
            if (claim.Task.IsCompletedSuccessfully)
            {
                TakeClaimed(claim);
            }
        }
    }

    /// <summary>Waits for an outcome, a new event, the claim in progress, or the timeout, whichever comes first.</summary>
    private async Task WaitAsync(TimeSpan timeout, Task? claim, CancellationToken stoppingToken)
    {
        _recorded.Reader.TryRead(out _);
        if (_outcomes.Reader.TryPeek(out _) || _outbox.Signals.TryPeek(out _) || claim is { IsCompleted: true })
        {
            return;
        }

        var outcome = Pending(ref _outcomeWait, _outcomes.Reader);
        var signal = Pending(ref _signalWait, _outbox.Signals);
        var recorded = Pending(ref _recordedWait, _recorded.Reader);
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(timeout, _timeProvider, wake.Token);
        await Task.WhenAny(outcome, signal, recorded, delay, claim ?? delay);
        await wake.CancelAsync();
    }

    /// <summary>
    /// The wait for something to read on <paramref name="reader"/>: the one still pending from an earlier round, else a
    /// new one. Waits are kept rather than cancelled when another wakes the loop: a cancelled channel wait throws and
    /// catches an exception inside the channel, once for each of the two or three that lost, round after round.
    /// </summary>
    private static Task<bool> Pending<T>(ref Task<bool>? wait, ChannelReader<T> reader) =>
        wait is { IsCompleted: false } ? wait : wait = reader.WaitToReadAsync(CancellationToken.None).AsTask();

    /// <summary>Follows the subscriptions: a lane per enabled endpoint; a disabled or deleted one's lane goes once idle.</summary>
    private async Task RefreshLanesAsync(CancellationToken stoppingToken)
    {
        var enabled = (await _webhooks.EnabledIdsAsync(stoppingToken)).ToHashSet(StringComparer.Ordinal);
        lock (_lanes)
        {
            foreach (var id in enabled.Where(id => !_lanes.ContainsKey(id)))
            {
                _lanes[id] = NewLane(id);
            }

            foreach (var lane in _lanes.Values.ToList())
            {
                lane.Enabled = enabled.Contains(lane.WebhookId);
                if (!lane.Enabled && lane.Idle)
                {
                    _lanes.Remove(lane.WebhookId);
                }
            }
        }
    }

    private EndpointLane NewLane(string webhookId) =>
        new(webhookId, Math.Min(_options.InitialConcurrencyPerEndpoint, _options.MaxConcurrencyPerEndpoint), _options.MaxConcurrencyPerEndpoint);

    private void TakeAnnouncements(long now)
    {
        var (announced, deliveries) = _announcements.Take();
        _pace.Arrived(deliveries, now);
        if (announced.Count == 0)
        {
            return;
        }

        lock (_lanes)
        {
            foreach (var id in announced)
            {
                if (!_lanes.TryGetValue(id, out var lane))
                {
                    _lanes[id] = lane = NewLane(id);
                }

                lane.AnnouncedUntil = now + (long)AnnouncedFor.TotalMilliseconds;
            }
        }
    }

    /// <summary>Starts claiming a window for every lane that wants one, all in one transaction; null when none does.</summary>
    private Claim? StartClaim(long now, bool periodicLook, CancellationToken stoppingToken)
    {
        var wanted = _lanes.Values.Select(l => (l.WebhookId, Count: l.Wanted(now, periodicLook))).Where(w => w.Count > 0).ToList();
        return wanted.Count == 0 ? null
            : new Claim(wanted, Stopwatch.GetTimestamp(), _commitsSignalled, _queue.ClaimAsync(wanted, now, _options.ClaimSeconds * 1000L, stoppingToken));
    }

    /// <summary>Hands what a claim took to the lanes; a lane that got all it asked for probably has more waiting.</summary>
    private void TakeClaimed(Claim claim)
    {
        if (!claim.Task.IsCompletedSuccessfully)
        {
            // The claim failed: its rows, if any, were not taken; the lanes ask again on their next look.
            Log.DispatchFailed(_logger, claim.Task.Exception?.GetBaseException() ?? new OperationCanceledException());
            return;
        }

        var got = claim.Task.Result.GroupBy(c => c.Delivery.WebhookId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (webhookId, count) in claim.Wanted)
        {
            if (_lanes.TryGetValue(webhookId, out var lane))
            {
                var taken = got.GetValueOrDefault(webhookId) ?? [];
                taken.ForEach(lane.Ready.Enqueue);
                lane.Claimed(count, taken.Count, Stopwatch.GetElapsedTime(claim.StartedAt).TotalSeconds);
                lane.AwaitingCommit = taken.Count == 0 && _commitsSignalled == claim.CommitsSignalled;
            }
        }
    }

    /// <summary>Starts what the lanes may send, taking the lanes in turn so that no endpoint starves the others.</summary>
    private void StartSends(long now, CancellationToken stoppingToken)
    {
        var lanes = _lanes.Values.ToList();
        var room = Math.Min(_options.MaxConcurrency - _inFlight, MostUnrecorded - Volatile.Read(ref _unrecorded));
        if (now / 1000 != _judgedSecond)
        {
            _judgedSecond = now / 1000;
            var (writes, slow) = _database.TakeForegroundWrites();
            _pace.Judge(writes, slow);
        }

        room = Math.Min(room, _pace.Allowance(now, _database.ForegroundWroteWithin(WriteBudget.ApiQuietAfter)));
        var started = 0;
        for (var progress = true; progress && room > 0;)
        {
            progress = false;
            for (var i = 0; i < lanes.Count && room > 0; i++)
            {
                var lane = lanes[(_nextLane + i) % lanes.Count];
                if (!lane.CanSend(now))
                {
                    continue;
                }

                var item = lane.Ready.Dequeue();
                if (item.ClaimedUntil - now < _options.ClaimSeconds * 500L)
                {
                    continue; // waited half its claim: it may not finish inside it, so it is claimed again once the claim lapses
                }

                var saturated = lane.InFlight + 1 >= lane.Concurrency.Limit;
                lane.CountSent(now);
                Interlocked.Increment(ref _unrecorded);
                lane.InFlight++;
                _inFlight++;
                room--;
                started++;
                progress = true;
                _ = SendAndReportAsync(lane, item, saturated, stoppingToken);
            }

            _nextLane = lanes.Count == 0 ? 0 : (_nextLane + 1) % lanes.Count;
        }

        _pace.Took(started);
    }

    private async Task SendAndReportAsync(EndpointLane lane, ClaimedDelivery item, bool saturated, CancellationToken stoppingToken)
    {
        SendResult? result = null;
        try
        {
            result = await SendAsync(item, stoppingToken);
        }
        catch (Exception exception)
        {
            // Unsent: the claim expires and the delivery is sent again (at least once, never lost).
            Log.DispatchFailed(_logger, exception);
        }

        _outcomes.Writer.TryWrite(new Outcome(lane, item, saturated, result));
    }

    /// <summary>Takes finished sends: frees their slots, adapts each lane's limit, and hands the attempts to the recorder.</summary>
    private void TakeOutcomes(long now)
    {
        while (_outcomes.Reader.TryRead(out var outcome))
        {
            var (lane, item, saturated, result) = outcome;
            lane.InFlight--;
            _inFlight--;
            if (result is null)
            {
                Interlocked.Decrement(ref _unrecorded);
                continue;
            }

            var (attempt, succeeded, retryAfter, signal) = result;
            lane.Concurrency.OnCompleted(signal, attempt.LatencyMs, saturated);
            lane.Count(succeeded, now);
            var jitter = RandomNumberGenerator.GetInt32(1_000_000) / 1_000_000d;
            var delay = succeeded ? null : _schedule.NextDelay(item.Delivery.Attempts + 1, jitter, retryAfter);
            long? next = delay is { } d ? attempt.AttemptedAt + (long)d.TotalMilliseconds : null;
            _records.Writer.TryWrite(new AttemptRecord(attempt, item.Delivery, succeeded, next));
        }
    }

    /// <summary>On stop: waits for the sends in flight (cancelled with the host) and gives back what was claimed but not sent.</summary>
    private async Task StopAsync()
    {
        while (_inFlight > 0 && await Pending(ref _outcomeWait, _outcomes.Reader))
        {
            TakeOutcomes(Now());
        }

        var unsent = _lanes.Values.SelectMany(l => l.Ready).Select(c => c.Delivery.Id).ToList();
        try
        {
            await _queue.ReleaseAsync(unsent, Now(), CancellationToken.None);
        }
        catch (Exception exception)
        {
            // Their claims lapse instead, and another node or the next start sends them.
            Log.DispatchFailed(_logger, exception);
        }
    }

    /// <summary>Stores finished attempts, as many as have arrived in one transaction.</summary>
    private async Task RecordAsync()
    {
        var batch = new List<AttemptRecord>();
        var disableAfterMs = (long)TimeSpan.FromDays(_options.DisableAfterDays).TotalMilliseconds;
        while (await _records.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var size = _queue.RecordBatchSize(RecordBatch);
            while (batch.Count < size && _records.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            try
            {
                await _recordRetry.ExecuteAsync(async _ => await _queue.RecordAsync(batch, disableAfterMs, CancellationToken.None), CancellationToken.None);
            }
            catch (Exception exception)
            {
                // Unrecorded: the claims expire and the deliveries are sent again (at least once, never lost).
                Log.DispatchFailed(_logger, exception);
            }

            foreach (var record in batch.Where(r => !r.Succeeded))
            {
                Log.DeliveryAttemptFailed(_logger, record.Delivery.Id, record.Delivery.WebhookId, record.Attempt.StatusCode, record.Attempt.Error, record.NextAttemptAt is null);
            }

            Interlocked.Add(ref _unrecorded, -batch.Count);
            _recorded.Writer.TryWrite(true);
            batch.Clear();
        }
    }

    private long Now() => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>One attempt: the exact stored payload, signed with every current secret, under the timeout.</summary>
    internal async Task<SendResult> SendAsync(ClaimedDelivery item, CancellationToken stoppingToken)
    {
        Interlocked.Increment(ref _attempts);
        var attemptedAt = _timeProvider.GetUtcNow();
        var body = Encoding.UTF8.GetBytes(item.Payload);
        var timestamp = attemptedAt.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, item.Webhook.Url)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", item.Delivery.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature",
            WebhookSignature.Header(item.Webhook.SigningSecrets(attemptedAt.ToUnixTimeMilliseconds()), item.Delivery.EventId, timestamp, body));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        var clock = Stopwatch.StartNew();
        int? status = null;
        string? excerpt = null;
        string? error = null;
        TimeSpan? retryAfter = null;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            status = (int)response.StatusCode;
            retryAfter = RetrySchedule.RetryAfter(response.StatusCode, response.Headers.RetryAfter, attemptedAt);

            (excerpt, _) = await SsrfGuard.ReadExcerptAsync(response.Content, _options.ResponseExcerptBytes, timeout.Token);
            if (status is < 200 or > 299)
            {
                error = $"HTTP {status}";
            }
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            error = $"Timed out after {_options.TimeoutSeconds} s";
        }
        catch (HttpRequestException exception)
        {
            error = exception.InnerException is { } inner ? $"{exception.Message} ({inner.Message})" : exception.Message;
        }

        var attempt = new DeliveryAttempt(Ids.New("att", attemptedAt.ToUnixTimeMilliseconds()), item.Delivery.Id,
            attemptedAt.ToUnixTimeMilliseconds(), status, (int)clock.ElapsedMilliseconds, excerpt, error);
        var signal = status is null or 429 or >= 500 ? ReceiverSignal.Overloaded : ReceiverSignal.Answered;
        return new SendResult(attempt, status is >= 200 and <= 299, retryAfter, signal);
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    public sealed record LaneView(string WebhookId, int InFlight, int Limit, long Succeeded, long Failed);

    internal sealed record SendResult(DeliveryAttempt Attempt, bool Succeeded, TimeSpan? RetryAfter, ReceiverSignal Signal);

    private sealed record Outcome(EndpointLane Lane, ClaimedDelivery Item, bool Saturated, SendResult? Result);

    /// <summary>A claim under way; <paramref name="CommitsSignalled"/> is the count of commit signals when it started.</summary>
    private sealed record Claim(
        IReadOnlyList<(string WebhookId, int Count)> Wanted, long StartedAt, long CommitsSignalled, Task<IReadOnlyList<ClaimedDelivery>> Task);
}
