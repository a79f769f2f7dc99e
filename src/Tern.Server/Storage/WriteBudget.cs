namespace Tern.Server.Storage;

/// <summary>
/// How many items one background transaction takes where an API write waits for the transaction in progress
/// (SQLite's one writer): while the API writes (any API write in the last second), as many as this kind of work does
/// within <see cref="Budget"/> at its recent pace, at least a few; otherwise its whole limit, which goes faster. Where
/// writers run side by side (PostgreSQL) always the whole limit. One per worker loop, which alone calls it.
/// </summary>
public sealed class WriteBudget(Database database, int fewest = 25)
{
    /// <summary>About how long a background transaction holds the writer while the API writes.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(4);

    /// <summary>How long after the last API write the API counts as writing.</summary>
    public static readonly TimeSpan ApiQuietAfter = TimeSpan.FromSeconds(1);

    private double _microsPerItem = 50;

    /// <summary>How many items the next transaction may take, at most <paramref name="limit"/>.</summary>
    public int Size(int limit) => Size(limit, database.SingleWriter && database.ForegroundWroteWithin(ApiQuietAfter), _microsPerItem, fewest);

    /// <summary>A transaction of this work held the writer for <paramref name="held"/> with <paramref name="items"/> items.</summary>
    public void Held(TimeSpan held, int items)
    {
        if (items > 0)
        {
            _microsPerItem = (0.8 * _microsPerItem) + (0.2 * held.TotalMicroseconds / items);
        }
    }

    /// <summary>At most <paramref name="limit"/>; while the API writes, what fits in <see cref="Budget"/> at this pace, at least <paramref name="fewest"/>.</summary>
    internal static int Size(int limit, bool apiWriting, double microsPerItem, int fewest) =>
        apiWriting ? Math.Clamp((int)(Budget.TotalMicroseconds / Math.Max(microsPerItem, 0.001)), Math.Min(fewest, limit), limit) : limit;
}
