using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tern.Server.Events;
using Tern.Server.Hosting;

namespace Tern.Server.Webhooks;

/// <summary>
/// Sends due deliveries: claims them (so nodes share the work and none sends what another has claimed), POSTs
/// each signed per Standard Webhooks, records every attempt, and schedules the next one on the retry schedule.
/// Woken by the outbox the moment an event commits, so a first attempt leaves within milliseconds; otherwise it
/// polls once a second. Each endpoint has its own small budget of requests in flight, so a hanging receiver only
/// ever holds up its own deliveries. Attempts are recorded in batches by one loop (a group commit): the slot is
/// free again as soon as the receiver has answered, and the delivery stays claimed until its attempt is stored.
/// </summary>
public sealed class WebhookDispatcher : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    private readonly WebhookStore _store;
    private readonly EventOutbox _outbox;
    private readonly WebhookOptions _options;
    private readonly RetrySchedule _schedule;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _http;
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly System.Threading.Channels.Channel<AttemptRecord> _records =
        System.Threading.Channels.Channel.CreateUnbounded<AttemptRecord>(new() { SingleReader = true });
    private int _total;

    public WebhookDispatcher(WebhookStore store, EventOutbox outbox, IOptions<WebhookOptions> options, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        (_store, _outbox, _options, _timeProvider, _logger) = (store, outbox, options.Value, timeProvider, logger);
        _schedule = RetrySchedule.Parse(_options.RetryDelaysSeconds);
        _http = new HttpClient(SsrfGuard.CreateHandler(_options.AllowPrivateNetworks, TimeSpan.FromSeconds(_options.TimeoutSeconds)))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Tern-Webhooks/1.0");
    }

    /// <summary>Attempts made since start, successful or not.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    private long _attempts;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recorder = Task.Run(RecordAsync, CancellationToken.None);
        try
        {
            await DispatchAsync(stoppingToken);
        }
        finally
        {
            // Attempts already made are stored before the dispatcher stops (for as long as the host allows).
            _records.Writer.TryComplete();
            await recorder;
        }
    }

    /// <summary>Stores finished attempts, as many as have arrived in one transaction.</summary>
    private async Task RecordAsync()
    {
        var batch = new List<AttemptRecord>();
        var disableAfterMs = (long)TimeSpan.FromDays(_options.DisableAfterDays).TotalMilliseconds;
        while (await _records.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < 1000 && _records.Reader.TryRead(out var record))
            {
                batch.Add(record);
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _store.RecordAttemptsAsync(batch, disableAfterMs, CancellationToken.None);
                    break;
                }
                catch (Exception exception) when (attempt < 5)
                {
                    Log.DispatchFailed(_logger, exception);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), _timeProvider, CancellationToken.None);
                }
                catch (Exception exception)
                {
                    // Unrecorded: the claims expire and the deliveries are sent again (at least once, never lost).
                    Log.DispatchFailed(_logger, exception);
                    break;
                }
            }

            foreach (var record in batch.Where(r => !r.Succeeded))
            {
                Log.DeliveryAttemptFailed(_logger, record.Delivery.Id, record.Delivery.WebhookId, record.Attempt.StatusCode, record.Attempt.Error, record.NextAttemptAt is null);
            }

            batch.Clear();
        }
    }

    private async Task DispatchAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await ClaimAndSendAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                Log.DispatchFailed(_logger, exception);
            }

            if (claimed == 0 || Volatile.Read(ref _total) >= _options.MaxConcurrency)
            {
                await WaitForWorkAsync(stoppingToken);
            }
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        poll.CancelAfter(Poll);
        try
        {
            await _outbox.Signals.ReadAsync(poll.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<int> ClaimAndSendAsync(CancellationToken stoppingToken)
    {
        var free = _options.MaxConcurrency - Volatile.Read(ref _total);
        if (free <= 0)
        {
            return 0;
        }

        var busy = _inFlight.Where(e => e.Value >= _options.MaxConcurrencyPerEndpoint).Select(e => e.Key).ToList();
        var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var claimed = await _store.ClaimAsync(now, _options.ClaimSeconds * 1000L, free, busy,
            webhookId => _options.MaxConcurrencyPerEndpoint - _inFlight.GetValueOrDefault(webhookId), stoppingToken);
        foreach (var item in claimed)
        {
            // Only this loop fills slots, and the claim took no more than were free.
            _inFlight.AddOrUpdate(item.Webhook.Id, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _total);
            _ = SendAndRecordAsync(item, stoppingToken);
        }

        return claimed.Count;
    }

    private async Task SendAndRecordAsync(ClaimedDelivery item, CancellationToken stoppingToken)
    {
        try
        {
            var (attempt, succeeded, retryAfter) = await SendAsync(item, stoppingToken);
            var jitter = RandomNumberGenerator.GetInt32(1_000_000) / 1_000_000d;
            var delay = succeeded ? null : _schedule.NextDelay(item.Delivery.Attempts + 1, jitter, retryAfter);
            long? next = delay is { } d ? attempt.AttemptedAt + (long)d.TotalMilliseconds : null;
            _records.Writer.TryWrite(new AttemptRecord(attempt, item.Delivery, succeeded, next));
        }
        catch (Exception exception)
        {
            // Unsent: the claim expires and the delivery is sent again (at least once, never lost).
            Log.DispatchFailed(_logger, exception);
        }
        finally
        {
            Leave(item.Webhook.Id);
            _outbox.Signal(); // a slot is free: look for more
        }
    }

    private void Leave(string webhookId)
    {
        _inFlight.AddOrUpdate(webhookId, 0, (_, n) => Math.Max(0, n - 1));
        Interlocked.Decrement(ref _total);
    }

    /// <summary>One attempt: the exact stored payload, signed with every current secret, under the timeout.</summary>
    internal async Task<(DeliveryAttempt Attempt, bool Succeeded, TimeSpan? RetryAfter)> SendAsync(ClaimedDelivery item, CancellationToken stoppingToken)
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
        return (attempt, status is >= 200 and <= 299, retryAfter);
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
