using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Events;

/// <summary>
/// Announces links whose <c>expiresAt</c> has passed with a link.expired event, within
/// <see cref="Interval"/> of the instant. Marking and announcing happen in one transaction and the mark is
/// conditional, so several nodes sweeping at once announce each link once. (Click limits are announced by the
/// click writer in the batch that reaches them.)
/// </summary>
internal sealed class ExpirySweeper(
    Database database, LinkStore links, EventOutbox outbox, TimeProvider timeProvider, ILogger<ExpirySweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
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
                foreach (var link in expired)
                {
                    await outbox.AppendAsync(connection, transaction, EventTypes.LinkExpired, link, cancellationToken);
                }

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
        using var timer = new PeriodicTimer(Interval, timeProvider);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
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
