using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Tern.Contracts;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Events;

/// <summary>One event to append: the link it is about and, for link.clicked, the click, whether a bot made it, and when.</summary>
public readonly record struct LinkEvent(Link Link, ClickResponse? Click = null, bool IsBot = false, long? At = null);

/// <summary>A subscription as fan-out needs it.</summary>
public sealed record Subscription(string Id, IReadOnlyList<string> Events, IReadOnlyList<string>? Tags, IReadOnlyList<string>? LinkIds, bool IncludeBots)
{
    public bool Wants(string type, Link link, bool isBot) =>
        Events.Contains(type, StringComparer.Ordinal)
        && (!isBot || IncludeBots)
        && (Tags is null || Tags.Any(t => link.Tags.Contains(t, StringComparer.Ordinal)))
        && (LinkIds is null || LinkIds.Contains(link.Id, StringComparer.Ordinal));
}

/// <summary>
/// The transactional outbox. An event is written in the caller's transaction, with the change that caused it,
/// together with one pending delivery per subscription that wants it; if the transaction rolls back, neither
/// exists, and once it commits, neither can be lost. After commit the caller rings <see cref="Signal"/> so the
/// dispatcher sends the first attempt at once instead of at its next poll.
/// </summary>
public sealed class EventOutbox(LinkResponses responses, TimeProvider timeProvider)
{
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Completes when something was appended since the dispatcher last looked.</summary>
    public ChannelReader<bool> Signals => _signal.Reader;

    public void Signal() => _signal.Writer.TryWrite(true);

    /// <summary>The enabled subscriptions of a workspace, read inside the transaction.</summary>
    public static async Task<IReadOnlyList<Subscription>> SubscriptionsAsync(
        DbConnection connection, DbTransaction transaction, string workspaceId, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string Id, string Events, string? FilterTags, string? FilterLinkIds, bool IncludeBots)>(
            new CommandDefinition(
                "SELECT id, events, filter_tags, filter_link_ids, include_bots FROM webhooks WHERE workspace_id = @workspaceId AND enabled = @enabled",
                new { workspaceId, enabled = true }, transaction, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new Subscription(r.Id, ParseList(r.Events) ?? [], ParseList(r.FilterTags), ParseList(r.FilterLinkIds), r.IncludeBots))];
    }

    /// <summary>Appends one link event and its deliveries.</summary>
    public Task AppendAsync(DbConnection connection, DbTransaction transaction, string type, Link link, CancellationToken cancellationToken) =>
        AppendManyAsync(connection, transaction, type, [new LinkEvent(link)], cancellationToken);

    /// <summary>Appends one event of this type per link, and their deliveries.</summary>
    public Task AppendManyAsync(
        DbConnection connection, DbTransaction transaction, string type, IReadOnlyList<Link> links, CancellationToken cancellationToken) =>
        AppendManyAsync(connection, transaction, type, [.. links.Select(link => new LinkEvent(link))], cancellationToken);

    /// <summary>
    /// Appends one event of this type per item, and a pending delivery per subscription that wants it, each kind in
    /// multi-row statements; the subscriptions are read once per workspace, unless the caller already holds those of
    /// the (single) workspace of the items.
    /// </summary>
    public async Task AppendManyAsync(
        DbConnection connection, DbTransaction transaction, string type, IReadOnlyList<LinkEvent> items, CancellationToken cancellationToken,
        IReadOnlyList<Subscription>? subscriptions = null)
    {
        if (items.Count == 0)
        {
            return;
        }

        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var events = new List<(string Id, LinkEvent Item, long At, string Payload)>(items.Count);
        foreach (var item in items)
        {
            var at = item.At ?? now;
            var envelope = new EventEnvelope
            {
                Id = Ids.New("evt", at),
                Type = type,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(at),
                Data = new EventData { Link = responses.From(item.Link), Click = item.Click },
            };
            events.Add((envelope.Id, item, at, JsonSerializer.Serialize(envelope, TernJsonContext.Default.EventEnvelope)));
        }

        await MultiRowStatement.ExecuteAsync(connection, transaction,
            "INSERT INTO events (id, workspace_id, type, link_id, payload, created_at) VALUES ", "", 6, 50, events,
            (e, values) =>
            {
                values[0] = e.Id;
                values[1] = e.Item.Link.WorkspaceId;
                values[2] = type;
                values[3] = e.Item.Link.Id;
                values[4] = e.Payload;
                values[5] = e.At;
            }, cancellationToken);

        var deliveries = new List<(string Id, string WebhookId, string WorkspaceId, string EventId, long At)>();
        foreach (var workspace in events.GroupBy(e => e.Item.Link.WorkspaceId, StringComparer.Ordinal))
        {
            var wanted = subscriptions ?? await SubscriptionsAsync(connection, transaction, workspace.Key, cancellationToken);
            foreach (var e in workspace)
            {
                deliveries.AddRange(wanted.Where(s => s.Wants(type, e.Item.Link, e.Item.IsBot))
                    .Select(s => (Ids.New("dlv", e.At), s.Id, workspace.Key, e.Id, e.At)));
            }
        }

        await MultiRowStatement.ExecuteAsync(connection, transaction,
            """
            INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
            VALUES 
            """, "", 9, 50, deliveries,
            (d, values) =>
            {
                values[0] = d.Id;
                values[1] = d.WebhookId;
                values[2] = d.WorkspaceId;
                values[3] = d.EventId;
                values[4] = type;
                values[5] = "pending";
                values[6] = 0;
                values[7] = d.At;
                values[8] = d.At;
            }, cancellationToken);
    }

    public static IReadOnlyList<string>? ParseList(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, Links.StorageJsonContext.Default.IReadOnlyListString);

    public static string? FormatList(IReadOnlyList<string>? list) =>
        list is null ? null : JsonSerializer.Serialize(list, Links.StorageJsonContext.Default.IReadOnlyListString);
}
