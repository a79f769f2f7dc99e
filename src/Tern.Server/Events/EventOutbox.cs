using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Tern.Contracts;
using Tern.Server.Hosting;

namespace Tern.Server.Events;

/// <summary>An event to publish: its type, what subscriptions filter on, and the data of its envelope.</summary>
public sealed record EventToPublish(string Type, string WorkspaceId, string? LinkId, IReadOnlyList<string> Tags, bool IsBot, EventData Data, long? At = null);

/// <summary>
/// What another room does with events as they are appended, in the same transaction (the webhook room queues one
/// delivery per subscription that wants each event). Owned here so that the event log depends on no subscriber.
/// </summary>
public interface IEventSubscriber
{
    /// <summary>
    /// False when the subscriber is known to write nothing for these events, so that a change whose one statement
    /// writes them may commit on its own (<see cref="Tern.Server.Storage.Database.WriteStatementAsync"/>); true when
    /// it may, or cannot tell.
    /// </summary>
    bool MayWant(IReadOnlyList<AppendedEvent> events);

    /// <summary>Called in the transaction that appended the events, before it commits.</summary>
    Task OnAppendedAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AppendedEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// The transactional outbox. An event is written in the caller's transaction, with the change that caused it, and
/// handed to the subscribers in that transaction; if it rolls back nothing exists, and once it commits nothing can be
/// lost. After commit the caller rings <see cref="Signal"/> so deliveries leave at once instead of at the next poll.
/// </summary>
public sealed class EventOutbox(IEnumerable<IEventSubscriber> subscribers, EventNotices notices, TimeProvider timeProvider)
{
    private readonly IEventSubscriber[] _subscribers = [.. subscribers];
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Completes when something was appended since the reader last looked.</summary>
    public ChannelReader<bool> Signals => _signal.Reader;

    public void Signal()
    {
        _signal.Writer.TryWrite(true);
        notices.Ring();
    }

    /// <summary>Appends the events, each with its envelope serialized once, and hands them to the subscribers.</summary>
    public Task PublishAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<EventToPublish> events, CancellationToken cancellationToken) =>
        events.Count == 0 ? Task.CompletedTask : AppendAsync(connection, transaction, Prepare(events), cancellationToken);

    /// <summary>
    /// The events as they will be stored: an id each and the envelope serialized once. For a caller that writes them
    /// in a statement of its own (<see cref="EventLog.InsertFrom"/>) and then calls <see cref="WrittenAsync"/>.
    /// </summary>
    public List<AppendedEvent> Prepare(IReadOnlyList<EventToPublish> events)
    {
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var appended = new List<AppendedEvent>(events.Count);
        foreach (var e in events)
        {
            var at = e.At ?? now;
            var envelope = new EventEnvelope
            {
                Id = Ids.New("evt", at),
                Type = e.Type,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(at),
                Data = e.Data,
            };
            var payload = JsonSerializer.Serialize(envelope, TernJsonContext.Default.EventEnvelope);
            appended.Add(new AppendedEvent(envelope.Id, e.Type, e.WorkspaceId, e.LinkId, e.Tags, e.IsBot, at, payload));
        }

        return appended;
    }

    /// <summary>Whether any subscriber may write something for these events in the transaction that appends them.</summary>
    public bool MayBeWanted(IReadOnlyList<AppendedEvent> events) => _subscribers.Any(subscriber => subscriber.MayWant(events));

    /// <summary>Hands events the caller has just written to the log, in this transaction, to the subscribers.</summary>
    public async Task WrittenAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AppendedEvent> written, CancellationToken cancellationToken)
    {
        foreach (var subscriber in _subscribers)
        {
            await subscriber.OnAppendedAsync(connection, transaction, written, cancellationToken);
        }
    }

    /// <summary>Appends events whose envelopes the caller has serialized, and hands them to the subscribers.</summary>
    public async Task AppendAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AppendedEvent> appended, CancellationToken cancellationToken)
    {
        if (appended.Count == 0)
        {
            return;
        }

        await EventLog.AppendAsync(connection, transaction, appended, cancellationToken);
        await WrittenAsync(connection, transaction, appended, cancellationToken);
    }
}
