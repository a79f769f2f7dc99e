using Microsoft.Extensions.Options;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Links;

/// <summary>
/// Announces links whose <c>expiresAt</c> has passed with a link.expired event, within
/// <c>Tern:Maintenance:ExpirySweepSeconds</c> of the instant. Marking and announcing happen in one transaction and
/// the mark is conditional, so each link is announced once whatever happens; the sweep itself runs once per period
/// across the cluster. (Click limits are announced by the click writer in the batch that reaches them.)
/// </summary>
internal sealed class ExpirySweeper(
    Database database, LinkStore links, LinkEvents outbox, IOptions<MaintenanceOptions> options, TimeProvider timeProvider) : ClusterJob
{
    public const string JobName = "expiry sweep";
    private const int BatchSize = 500;

    public override string Name => JobName;

    public override TimeSpan Period => TimeSpan.FromSeconds(options.Value.ExpirySweepSeconds);

    public override string Description => "announce expired links";

    public override Task RunAsync(CancellationToken cancellationToken) => SweepAsync(cancellationToken);

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
            }, cancellationToken, WritePriority.Background);
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
}
