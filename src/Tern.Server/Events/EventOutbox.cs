using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Tern.Contracts;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

namespace Tern.Server.Events;

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

    /// <summary>Appends a link event and its deliveries; returns the event.</summary>
    public async Task<EventEnvelope> AppendAsync(
        DbConnection connection, DbTransaction transaction, string type, Link link, CancellationToken cancellationToken,
        ClickResponse? click = null, bool isBot = false, IReadOnlyList<Subscription>? subscriptions = null, long? at = null)
    {
        var timestamp = at ?? timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var envelope = new EventEnvelope
        {
            Id = Ids.New("evt", timestamp),
            Type = type,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(timestamp),
            Data = new EventData { Link = responses.From(link), Click = click },
        };
        var payload = JsonSerializer.Serialize(envelope, TernJsonContext.Default.EventEnvelope);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO events (id, workspace_id, type, link_id, payload, created_at) VALUES (@Id, @WorkspaceId, @Type, @LinkId, @Payload, @CreatedAt)",
            new { envelope.Id, link.WorkspaceId, Type = type, LinkId = link.Id, Payload = payload, CreatedAt = timestamp },
            transaction, cancellationToken: cancellationToken));

        subscriptions ??= await SubscriptionsAsync(connection, transaction, link.WorkspaceId, cancellationToken);
        var wanted = subscriptions.Where(s => s.Wants(type, link, isBot)).ToList();
        if (wanted.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
                VALUES (@Id, @WebhookId, @WorkspaceId, @EventId, @EventType, 'pending', 0, @At, @At)
                """,
                wanted.Select(s => new { Id = Ids.New("dlv", timestamp), WebhookId = s.Id, link.WorkspaceId, EventId = envelope.Id, EventType = type, At = timestamp }),
                transaction, cancellationToken: cancellationToken));
        }

        return envelope;
    }

    /// <summary>
    /// Appends one event of this type per link, and their deliveries, in multi-row statements: the bulk form of
    /// <see cref="AppendAsync"/>, reading the workspace's subscriptions once.
    /// </summary>
    public async Task AppendManyAsync(
        DbConnection connection, DbTransaction transaction, string type, string workspaceId, IReadOnlyList<Link> links,
        CancellationToken cancellationToken)
    {
        if (links.Count == 0)
        {
            return;
        }

        var timestamp = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var events = new List<(string Id, Link Link, string Payload)>(links.Count);
        foreach (var link in links)
        {
            var envelope = new EventEnvelope
            {
                Id = Ids.New("evt", timestamp),
                Type = type,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(timestamp),
                Data = new EventData { Link = responses.From(link) },
            };
            events.Add((envelope.Id, link, JsonSerializer.Serialize(envelope, TernJsonContext.Default.EventEnvelope)));
        }

        await MultiRowStatement.ExecuteAsync(connection, transaction,
            "INSERT INTO events (id, workspace_id, type, link_id, payload, created_at) VALUES ", "", 6, 50, events,
            (e, values) =>
            {
                values[0] = e.Id;
                values[1] = e.Link.WorkspaceId;
                values[2] = type;
                values[3] = e.Link.Id;
                values[4] = e.Payload;
                values[5] = timestamp;
            }, cancellationToken);

        var subscriptions = await SubscriptionsAsync(connection, transaction, workspaceId, cancellationToken);
        var deliveries = events
            .SelectMany(e => subscriptions.Where(s => s.Wants(type, e.Link, isBot: false)).Select(s => (WebhookId: s.Id, EventId: e.Id)))
            .ToList();
        await MultiRowStatement.ExecuteAsync(connection, transaction,
            """
            INSERT INTO webhook_deliveries (id, webhook_id, workspace_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
            VALUES 
            """, "", 9, 50, deliveries,
            (d, values) =>
            {
                values[0] = Ids.New("dlv", timestamp);
                values[1] = d.WebhookId;
                values[2] = workspaceId;
                values[3] = d.EventId;
                values[4] = type;
                values[5] = "pending";
                values[6] = 0;
                values[7] = timestamp;
                values[8] = timestamp;
            }, cancellationToken);
    }

    public static IReadOnlyList<string>? ParseList(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, Links.StorageJsonContext.Default.IReadOnlyListString);

    public static string? FormatList(IReadOnlyList<string>? list) =>
        list is null ? null : JsonSerializer.Serialize(list, Links.StorageJsonContext.Default.IReadOnlyListString);
}
