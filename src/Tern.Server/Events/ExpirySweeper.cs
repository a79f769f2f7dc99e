using Microsoft.Extensions.Options;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Events;

/// <summary>
/// Announces links whose <c>expiresAt</c> has passed with a link.expired event, within
/// <c>Tern:Maintenance:ExpirySweepSeconds</c> of the instant. Marking and announcing happen in one transaction and
/// the mark is conditional, so each link is announced once whatever happens; the sweep itself runs once per period
/// across the cluster. (Click limits are announced by the click writer in the batch that reaches them.)
/// </summary>
internal sealed class ExpirySweeper(
    Database database, LinkStore links, LinkEvents outbox, IOptions<MaintenanceOptions> options, TimeProvider timeProvider,
    ILogger<ExpirySweeper> logger) : BackgroundService
{
    public const string JobName = "expiry sweep";
    private const int BatchSize = 500;

    /// <summary>Announces every link due now; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var announced = await database.WriteAsync(async (connection, transaction) =>
            {
                var expired = await links.MarkExpiredAsync(connection, transaction, now, null, BatchSize, cancellationToken);
                await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkExpired, expired, cancellationToken);

                return expired.Count;
            }, cancellationToken);
            total += announced;
            if (announced > 0)
            {
                outbox.Signal();
            }

            if (announced < BatchSize)
            {
                return total;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.ExpirySweepSeconds);
        using var timer = new PeriodicTimer(interval, timeProvider);
        do
        {
            try
            {
                if (await database.TryRunExclusiveAsync(JobName, interval, SweepAsync, stoppingToken) is { } claimedAt)
                {
                    Log.ClusterJobRan(logger, JobName, claimedAt);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                Log.MaintenanceFailed(logger, exception, "announce expired links");
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
