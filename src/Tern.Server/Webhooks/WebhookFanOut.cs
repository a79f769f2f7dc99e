using System.Collections.Frozen;
using System.Data.Common;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

/// <summary>
/// Subscribes the webhook room to the event log: in the transaction that appends events, one pending delivery per
/// enabled subscription that wants each event, and a word to this node's dispatcher about which endpoints got work.
/// A workspace none of whose webhooks takes any of the events' types (<see cref="SubscribedEventTypes"/>) is not read.
/// </summary>
public sealed class WebhookFanOut(DeliveryAnnouncements announcements, SubscribedEventTypes subscribedTypes, Database database) : IEventSubscriber
{
    /// <summary>
    /// False only when every workspace of the events is known to have no enabled webhook taking any of their types:
    /// then <see cref="OnAppendedAsync"/> would read nothing and queue nothing.
    /// </summary>
    public bool MayWant(IReadOnlyList<AppendedEvent> events)
    {
        foreach (var e in events)
        {
            if (!subscribedTypes.TryGet(e.WorkspaceId, out var types) || types.Contains(e.Type))
            {
                return true;
            }
        }

        return false;
    }

    public async Task OnAppendedAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AppendedEvent> events, CancellationToken cancellationToken)
    {
        var deliveries = new List<Delivery>();
        foreach (var workspace in events.GroupBy(e => e.WorkspaceId, StringComparer.Ordinal))
        {
            var known = subscribedTypes.TryGet(workspace.Key, out var types);
            if (known && !workspace.Any(e => types!.Contains(e.Type)))
            {
                continue;
            }

            var mark = subscribedTypes.Mark;
            var subscriptions = await WebhookStore.SubscriptionsAsync(connection, transaction, database.Dialect, workspace.Key, cancellationToken);
            if (!known)
            {
                // Kept until a change clears it or it lapses; a workspace read for every click batch builds it once.
                subscribedTypes.Add(workspace.Key, subscriptions.SelectMany(s => s.Events).ToFrozenSet(StringComparer.Ordinal), mark);
            }
            foreach (var e in workspace)
            {
                deliveries.AddRange(subscriptions.Where(s => s.Wants(e.Type, e.LinkId, e.Tags, e.IsBot)).Select(s => NewDelivery(s.Id, e)));
            }
        }

        await DeliveryQueue.EnqueueAsync(connection, transaction, deliveries, cancellationToken);
        announcements.Announce(deliveries.Select(d => d.WebhookId).Distinct(StringComparer.Ordinal), deliveries.Count);
    }

    /// <summary>A delivery of the event to one endpoint, due at once.</summary>
    public static Delivery NewDelivery(string webhookId, AppendedEvent e) => new()
    {
        Id = Ids.New("dlv", e.At),
        WebhookId = webhookId,
        WorkspaceId = e.WorkspaceId,
        EventId = e.Id,
        EventType = e.Type,
        Status = DeliveryStatus.Pending,
        Attempts = 0,
        NextAttemptAt = e.At,
        CreatedAt = e.At,
    };
}

/// <summary>
/// Endpoints that were just given deliveries on this node. The dispatcher looks at those first, so a first attempt
/// leaves within milliseconds; the rest it finds at its next poll.
/// </summary>
public sealed class DeliveryAnnouncements
{
    private readonly Lock _lock = new();
    private HashSet<string> _announced = new(StringComparer.Ordinal);
    private int _deliveries;

    public void Announce(IEnumerable<string> webhookIds, int deliveries = 0)
    {
        lock (_lock)
        {
            _announced.UnionWith(webhookIds);
            _deliveries += deliveries;
        }
    }

    /// <summary>
    /// The endpoints announced since the last call, and how many deliveries were queued meanwhile (the dispatcher's
    /// measure of what arrives).
    /// </summary>
    public (HashSet<string> Webhooks, int Deliveries) Take()
    {
        lock (_lock)
        {
            var taken = (_announced, _deliveries);
            (_announced, _deliveries) = (new(StringComparer.Ordinal), 0);
            return taken;
        }
    }
}
