using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Tern.Contracts;
using Tern.Server.Hosting;
using Tern.Server.Links;

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

    public static IReadOnlyList<string>? ParseList(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, Links.StorageJsonContext.Default.IReadOnlyListString);

    public static string? FormatList(IReadOnlyList<string>? list) =>
        list is null ? null : JsonSerializer.Serialize(list, Links.StorageJsonContext.Default.IReadOnlyListString);
}
