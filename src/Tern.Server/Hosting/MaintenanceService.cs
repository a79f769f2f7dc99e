using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Events;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
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
    ILogger<MaintenanceService> logger) : BackgroundService
{
    public const string JobName = "maintenance";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.IntervalSeconds);
        using var timer = new PeriodicTimer(interval);
        do
        {
            await RunAsync(JobName, async () =>
            {
                if (await database.TryRunExclusiveAsync(JobName, interval, RunJobsAsync, stoppingToken) is { } claimedAt)
                {
                    Log.ClusterJobRan(logger, JobName, claimedAt);
                }
            }, stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private async Task RunJobsAsync(CancellationToken stoppingToken)
    {
        if (database is PostgresDatabase postgres)
        {
            await RunAsync("create click partitions ahead", () => ClickPartitions.CreateAheadAsync(postgres, timeProvider.GetUtcNow(), stoppingToken), stoppingToken);
        }

        await RunAsync("purge idempotency keys", () => idempotencyKeys.PurgeExpiredAsync(stoppingToken), stoppingToken);
        var deliveryCutoff = timeProvider.GetUtcNow().AddDays(-webhookOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
        await RunAsync("purge old deliveries", () => deliveries.PurgeOlderThanAsync(deliveryCutoff, stoppingToken), stoppingToken);
        await RunAsync("purge old events", () => events.PurgeOlderThanAsync(deliveryCutoff, stoppingToken), stoppingToken);
        var twoDaysAgo = timeProvider.GetUtcNow().AddDays(-2).ToUnixTimeMilliseconds();
        await RunAsync("forget past days' visitors", () => clicks.PurgeSightingsBeforeAsync(twoDaysAgo, stoppingToken), stoppingToken);
        if (clickOptions.Value.RetentionDays > 0)
        {
            var cutoff = timeProvider.GetUtcNow().AddDays(-clickOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
            await RunAsync("purge raw clicks past retention", () => clicks.PurgeOlderThanAsync(cutoff, stoppingToken), stoppingToken);
        }
    }

    private async Task RunAsync(string job, Func<Task> work, CancellationToken stoppingToken)
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

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
