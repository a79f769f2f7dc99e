using System.Diagnostics.Metrics;

namespace Tern.Server.Webhooks;

/// <summary>
/// Webhook instruments on Tern's meter (<see cref="Hosting.TernMetrics.MeterName"/>), per endpoint (tag <c>webhook.id</c>): this node's attempts, requests
/// in flight and concurrency limit, and the endpoint's backlog and the age of its oldest pending delivery; and this
/// node's drain pace. The backlog is counted in storage, at most every 5 seconds and only while something reads the
/// instruments.
/// </summary>
public sealed class WebhookMetrics : IDisposable
{
    private static readonly TimeSpan BacklogFreshFor = TimeSpan.FromSeconds(5);

    private readonly Meter _meter;
    private readonly DeliveryQueue _queue;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<WebhookMetrics> _logger;
    private IReadOnlyList<DeliveryBacklog> _backlogs = [];
    private long _backlogsAt;
    private int _refreshing;

    public WebhookMetrics(IMeterFactory meterFactory, WebhookDispatcher dispatcher, DeliveryQueue queue, TimeProvider timeProvider, ILogger<WebhookMetrics> logger)
    {
        (_queue, _timeProvider, _logger) = (queue, timeProvider, logger);
        _meter = meterFactory.Create(Hosting.TernMetrics.MeterName);
        _meter.CreateObservableCounter("tern.webhooks.attempts", () => dispatcher.Lanes().SelectMany(l => new[]
            {
                new Measurement<long>(l.Succeeded, Tag(l.WebhookId), new("outcome", "succeeded")),
                new Measurement<long>(l.Failed, Tag(l.WebhookId), new("outcome", "failed")),
            }), description: "Delivery attempts this node made, by endpoint and outcome");
        _meter.CreateObservableGauge("tern.webhooks.in_flight", () => dispatcher.Lanes().Select(l => new Measurement<int>(l.InFlight, Tag(l.WebhookId))),
            description: "Attempts in flight from this node, by endpoint");
        _meter.CreateObservableGauge("tern.webhooks.concurrency_limit", () => dispatcher.Lanes().Select(l => new Measurement<int>(l.Limit, Tag(l.WebhookId))),
            description: "Attempts this node lets be in flight to the endpoint now (it adapts to the receiver)");
        _meter.CreateObservableGauge("tern.webhooks.drain_pace", () => dispatcher.DrainPace, unit: "{attempt}/s",
            description: "Attempts a second this node starts at most while the API writes, unless deliveries arrive faster; lowered while the API's writes are slow; 0 never paces");
        _meter.CreateObservableGauge("tern.webhooks.pending", () => Backlogs().Select(b => new Measurement<long>(b.Pending, Tag(b.WebhookId))),
            description: "Deliveries waiting for an attempt, by endpoint");
        _meter.CreateObservableGauge("tern.webhooks.oldest_pending_age", () => Backlogs().Select(b => new Measurement<double>(
                b.OldestPendingAt is { } oldest ? Math.Max(0, Now - oldest) / 1000d : 0, Tag(b.WebhookId))),
            unit: "s", description: "How long the oldest pending delivery has waited, by endpoint");
    }

    private long Now => _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    private static KeyValuePair<string, object?> Tag(string webhookId) => new("webhook.id", webhookId);

    /// <summary>
    /// The last counted backlogs; a count older than 5 s starts a new one in the background. Freshness is measured on
    /// the machine's monotonic clock: it is a refresh cadence, not a time in the domain (which a test clock may hold still).
    /// </summary>
    private IReadOnlyList<DeliveryBacklog> Backlogs()
    {
        if (Environment.TickCount64 - Volatile.Read(ref _backlogsAt) > BacklogFreshFor.TotalMilliseconds && Interlocked.Exchange(ref _refreshing, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    _backlogs = await _queue.BacklogsAsync(Now, CancellationToken.None);
                    Volatile.Write(ref _backlogsAt, Environment.TickCount64);
                }
                catch (Exception exception)
                {
                    Hosting.Log.DispatchFailed(_logger, exception);
                }
                finally
                {
                    Volatile.Write(ref _refreshing, 0);
                }
            });
        }

        return _backlogs;
    }

    public void Dispose() => _meter.Dispose();
}
