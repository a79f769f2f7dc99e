using Tern.Server.Clicks;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>Folding PostgreSQL's rollups in tests that share one PostgreSQL cluster.</summary>
public static class RollupFolds
{
    /// <summary>
    /// Folds until the mark passes <paramref name="tx"/>, and returns the mark. The horizon is the oldest transaction
    /// running anywhere on the cluster, so a transaction of another test's database can hold a fold back for a moment.
    /// </summary>
    public static async Task<ulong> FoldPastAsync(this RangeRollups rollups, ulong tx, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var mark = await rollups.FoldOnceAsync(cancellationToken);
            if (mark > tx || DateTime.UtcNow > deadline)
            {
                return mark;
            }

            await Task.Delay(20, cancellationToken);
        }
    }
}
