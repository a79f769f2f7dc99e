using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Webhooks;

namespace Tern.Server.Hosting;

/// <summary>
/// Periodic housekeeping: forgets Idempotency-Key records past their 24 hours, raw clicks past their retention,
/// deliveries, attempts and events past theirs, and yesterday's visitors.
/// </summary>
internal sealed class MaintenanceService(
    IdempotencyKeys idempotencyKeys, ClickStore clicks, IOptions<ClickOptions> clickOptions, WebhookStore webhooks,
    IOptions<WebhookOptions> webhookOptions, TimeProvider timeProvider,
    ILogger<MaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10));
        do
        {
            await RunAsync("purge idempotency keys", () => idempotencyKeys.PurgeExpiredAsync(stoppingToken), stoppingToken);
            var deliveryCutoff = timeProvider.GetUtcNow().AddDays(-webhookOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
            await RunAsync("purge old deliveries and events", () => webhooks.PurgeOlderThanAsync(deliveryCutoff, stoppingToken), stoppingToken);
            var twoDaysAgo = timeProvider.GetUtcNow().AddDays(-2).ToUnixTimeMilliseconds();
            await RunAsync("forget past days' visitors", () => clicks.PurgeSightingsBeforeAsync(twoDaysAgo, stoppingToken), stoppingToken);
            if (clickOptions.Value.RetentionDays > 0)
            {
                var cutoff = timeProvider.GetUtcNow().AddDays(-clickOptions.Value.RetentionDays).ToUnixTimeMilliseconds();
                await RunAsync("purge raw clicks past retention", () => clicks.PurgeOlderThanAsync(cutoff, stoppingToken), stoppingToken);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
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
