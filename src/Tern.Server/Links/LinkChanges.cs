
namespace Tern.Server.Links;

/// <summary>
/// Told of every link change this node commits, once the transaction has committed, so that what another room keeps
/// about links (cached redirects, click tallies) follows. Implementations are called inline and must not block.
/// </summary>
public interface ILinkChangeObserver
{
    void OnCreated(Link link) { }

    void OnChanged(Link before, Link after) { }

    void OnDeleted(Link link) { }
}

/// <summary>What follows a committed link change: the observers are told of each link, and the event outbox is woken once.</summary>
internal sealed class LinkChanges(IEnumerable<ILinkChangeObserver> observers, LinkEvents outbox)
{
    private readonly ILinkChangeObserver[] _observers = [.. observers];

    public void Created(IReadOnlyCollection<Link> links) => Committed(links, static (observer, link) => observer.OnCreated(link));

    public void Changed(IReadOnlyCollection<(Link Before, Link After)> changes) =>
        Committed(changes, static (observer, change) => observer.OnChanged(change.Before, change.After));

    public void Deleted(IReadOnlyCollection<Link> links) => Committed(links, static (observer, link) => observer.OnDeleted(link));

    private void Committed<T>(IReadOnlyCollection<T> changes, Action<ILinkChangeObserver, T> tell)
    {
        foreach (var change in changes)
        {
            foreach (var observer in _observers)
            {
                tell(observer, change);
            }
        }

        if (changes.Count > 0)
        {
            outbox.Signal();
        }
    }
}
