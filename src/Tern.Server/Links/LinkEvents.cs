using System.Data.Common;
using Tern.Contracts;
using Tern.Server.Events;

namespace Tern.Server.Links;

/// <summary>One event about a link: the link and, for link.clicked, the click, whether a bot made it, and when.</summary>
public readonly record struct LinkEvent(Link Link, ClickResponse? Click = null, bool IsBot = false, long? At = null);

/// <summary>
/// Publishes link events through the outbox, in the caller's transaction: the link as the API shows it is the
/// event's data, and its workspace, id and tags are what subscriptions filter on.
/// </summary>
public sealed class LinkEvents(EventOutbox outbox, LinkResponses responses)
{
    public Task AppendAsync(DbConnection connection, DbTransaction transaction, string type, Link link, CancellationToken cancellationToken) =>
        AppendManyAsync(connection, transaction, type, [new LinkEvent(link)], cancellationToken);

    public Task AppendManyAsync(DbConnection connection, DbTransaction transaction, string type, IReadOnlyList<Link> links, CancellationToken cancellationToken) =>
        AppendManyAsync(connection, transaction, type, [.. links.Select(link => new LinkEvent(link))], cancellationToken);

    public Task AppendManyAsync(
        DbConnection connection, DbTransaction transaction, string type, IReadOnlyList<LinkEvent> items, CancellationToken cancellationToken) =>
        outbox.PublishAsync(connection, transaction, [.. items.Select(item => ToPublish(type, item))], cancellationToken);

    /// <summary>The event of this type about the link, ready for a statement that writes it with the change (<see cref="EventLog.InsertFrom"/>).</summary>
    public AppendedEvent Prepare(string type, Link link) => outbox.Prepare([ToPublish(type, new LinkEvent(link))])[0];

    private EventToPublish ToPublish(string type, LinkEvent item) =>
        new(type, item.Link.WorkspaceId, item.Link.Id, item.Link.Tags, item.IsBot,
            new EventData { Link = responses.From(item.Link), Click = item.Click }, item.At);

    /// <summary>Whether a subscriber (a webhook) may take the event, so that it must be written in a transaction with what they write.</summary>
    public bool MayBeWanted(AppendedEvent prepared) => outbox.MayBeWanted([prepared]);

    /// <summary>Hands the events written with the change to the subscribers (the webhooks' deliveries), in the same transaction.</summary>
    public Task WrittenAsync(DbConnection connection, DbTransaction transaction, AppendedEvent written, CancellationToken cancellationToken) =>
        outbox.WrittenAsync(connection, transaction, [written], cancellationToken);

    /// <summary>Rung after commit: deliveries of what was just appended leave at once.</summary>
    public void Signal() => outbox.Signal();
}
