using System.Collections.Concurrent;
using Tern.Server.Links;

namespace Tern.Server.Clicks;

/// <summary>
/// The click count of one link as this node knows it: the stored count when the link was first loaded plus
/// every click answered here since. It is what makes <c>maxClicks</c> exact on one node.
/// </summary>
public sealed class ClickTally(long stored)
{
    private long _total = stored;

    public long Total => Volatile.Read(ref _total);

    /// <summary>
    /// Lifts the tally to a stored count that has overtaken it: other nodes' clicks, persisted since this node
    /// first loaded the link. On a single node the tally is never behind storage, so this changes nothing.
    /// </summary>
    public void Raise(long stored)
    {
        var current = Volatile.Read(ref _total);
        while (current < stored)
        {
            var seen = Interlocked.CompareExchange(ref _total, stored, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Counts one click unless <paramref name="max"/> is reached; exact under concurrency.</summary>
    public bool TryCount(long max)
    {
        if (Interlocked.Increment(ref _total) > max)
        {
            Interlocked.Decrement(ref _total);
            return false;
        }

        return true;
    }
}

/// <summary>The tallies of the links this node has served, by link id.</summary>
public sealed class ClickTallies : ILiveClickCounts, ILinkChangeObserver
{
    private readonly ConcurrentDictionary<string, ClickTally> _tallies = new(StringComparer.Ordinal);

    /// <summary>
    /// The tally of a link, created from its stored count the first time the link is loaded and raised to it on
    /// every reload (after another node's change or click limit was announced).
    /// </summary>
    public ClickTally For(string linkId, long stored)
    {
        var tally = _tallies.GetOrAdd(linkId, static (_, s) => new ClickTally(s), stored);
        tally.Raise(stored);
        return tally;
    }

    /// <summary>The count this node knows for a link: storage's, or more while answered clicks await their batch.</summary>
    public long CountFor(string linkId, long stored) =>
        _tallies.TryGetValue(linkId, out var tally) ? Math.Max(stored, tally.Total) : stored;

    public void Forget(string linkId) => _tallies.TryRemove(linkId, out _);

    void ILinkChangeObserver.OnDeleted(Link link) => Forget(link.Id);
}
