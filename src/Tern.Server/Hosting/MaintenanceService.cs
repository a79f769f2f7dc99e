namespace Tern.Server.Hosting;

/// <summary>Periodic housekeeping: forgets Idempotency-Key records past their 24 hours.</summary>
internal sealed class MaintenanceService(IdempotencyKeys idempotencyKeys, ILogger<MaintenanceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(10));
        do
        {
            try
            {
                await idempotencyKeys.PurgeExpiredAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                Log.MaintenanceFailed(logger, exception, "purge idempotency keys");
            }
        }
        while (await WaitAsync(timer, stoppingToken));
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
