using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Events;
using Tern.Server.Storage;
using Tern.Server.Webhooks;

namespace Tern.Server.Hosting;

/// <summary>
/// Periodic housekeeping: forgets Idempotency-Key records past their 24 hours, raw clicks past their retention,
/// deliveries, attempts and events past theirs, and yesterday's visitors; on PostgreSQL it also creates the click
/// partitions ahead. With PostgreSQL it runs once per period across all nodes.
/// </summary>
internal sealed class MaintenanceService(
    Database database, IdempotencyKeys idempotencyKeys, ClickStore clicks, IOptions<ClickOptions> clickOptions, DeliveryQueue deliveries, EventLog events,
    IOptions<WebhookOptions> webhookOptions, IOptions<MaintenanceOptions> options, TimeProvider timeProvider,
    ILogger<MaintenanceService> logger) : ClusterJob
{
    public const string JobName = "maintenance";

    public override string Name => JobName;

    public override TimeSpan Period => TimeSpan.FromSeconds(options.Value.IntervalSeconds);

    public override async Task RunAsync(CancellationToken stoppingToken)
    {
        await StepAsync("create click partitions ahead", () => database.PrepareClickStorageAheadAsync(timeProvider.GetUtcNow(), stoppingToken), stoppingToken);

        await StepAsync("purge idempotency keys", () => idempotencyKeys.PurgeExpiredAsync(stoppingToken), stoppingToken);
        var deliveryCutoff = timeProvider.GetUtcNow().AddDays(-webhookOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
        await StepAsync("purge old deliveries", () => deliveries.PurgeOlderThanAsync(deliveryCutoff, stoppingToken), stoppingToken);
        await StepAsync("purge old events", () => events.PurgeOlderThanAsync(deliveryCutoff, stoppingToken), stoppingToken);
        var twoDaysAgo = timeProvider.GetUtcNow().AddDays(-2).ToUnixTimeMilliseconds();
        await StepAsync("forget past days' visitors", () => clicks.PurgeSightingsBeforeAsync(twoDaysAgo, stoppingToken), stoppingToken);
        if (clickOptions.Value.RetentionDays > 0)
        {
            var cutoff = timeProvider.GetUtcNow().AddDays(-clickOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
            await StepAsync("purge raw clicks past retention", () => clicks.PurgeOlderThanAsync(cutoff, stoppingToken), stoppingToken);
        }
    }

    private async Task StepAsync(string job, Func<Task> work, CancellationToken stoppingToken)
    {
        try
        {
            await work();
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
        {
            Log.MaintenanceFailed(logger, exception, job);
        }
    }
}
