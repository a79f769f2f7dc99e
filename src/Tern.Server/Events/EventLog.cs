using System.Data.Common;
using Dapper;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Events;

/// <summary>An event as stored: its id and exact payload, with what subscriptions filter on.</summary>
public sealed record AppendedEvent(string Id, string Type, string WorkspaceId, string? LinkId, IReadOnlyList<string> Tags, bool IsBot, long At, string Payload);

/// <summary>The <c>events</c> table: the log every event is written to with the change that caused it.</summary>
public sealed class EventLog(Database database)
{
    private static readonly ColumnMap<AppendedEvent> Columns = new(
        ("id", e => e.Id), ("workspace_id", e => e.WorkspaceId), ("type", e => e.Type), ("link_id", e => e.LinkId),
        ("payload", e => e.Payload), ("created_at", e => e.At), ("is_bot", e => e.IsBot));

    /// <summary>Appends the events in the caller's transaction, in multi-row statements.</summary>
    public static Task AppendAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AppendedEvent> events, CancellationToken cancellationToken) =>
        MultiRowStatement.InsertAsync(connection, transaction, "events", Columns, 50, events, cancellationToken);

    /// <summary>
    /// The insert of one event as the last part of a statement whose <c>WITH</c> clause names the rows
    /// <paramref name="source"/>: the event is written once for each of them, so not at all when there are none. A
    /// change and its event then travel to PostgreSQL in one statement; the values are bound by <see cref="Bind"/>.
    /// </summary>
    public static string InsertFrom(string source) =>
        $"INSERT INTO events ({Columns.List}) SELECT {Columns.Parameters(ParameterPrefix)} FROM {source}";

    /// <summary>Binds the values of <see cref="InsertFrom"/>.</summary>
    public static void Bind(AppendedEvent e, DynamicParameters parameters) => Columns.AddTo(e, ParameterPrefix, parameters);

    private const string ParameterPrefix = "event_";

    /// <summary>The stored payloads of these events, by id.</summary>
    public async Task<Dictionary<string, string>> PayloadsAsync(
        DbConnection connection, DbTransaction? transaction, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var rows = await connection.QueryAsync<(string Id, string Payload)>(new CommandDefinition(
            $"SELECT id, payload FROM events WHERE {database.Dialect.InList("id", "ids")}",
            new { ids = database.Dialect.List(ids) }, transaction, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.Id, r => r.Payload, StringComparer.Ordinal);
    }

    /// <summary>A workspace's events, newest first, strictly before <paramref name="before"/> when given.</summary>
    public async Task<IReadOnlyList<(string Id, string Payload)>> ListAsync(
        string workspaceId, string? type, bool includeBots, string? before, int take, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Id, string Payload)>(new CommandDefinition(
            $"""
            SELECT id, payload FROM events WHERE workspace_id = @workspaceId
            {(type is null ? "" : "AND type = @type")} {(before is null ? "" : "AND id < @before")} {(includeBots ? "" : "AND NOT is_bot")}
            ORDER BY id DESC LIMIT @take
            """, new { workspaceId, type, before, take }, cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>
    /// A workspace's events committed strictly after the event <paramref name="after"/>, oldest first, in the order
    /// they committed, so that a reader that always asks from the last one it got never misses or repeats one.
    /// </summary>
    public async Task<IReadOnlyList<(string Id, string Type, string Payload)>> ListAfterAsync(
        string workspaceId, string? type, bool includeBots, string after, int take, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Id, string Type, string Payload)>(new CommandDefinition(
            $"""
            SELECT id, type, payload FROM events WHERE workspace_id = @workspaceId
            {(type is null ? "" : "AND type = @type")} {(includeBots ? "" : "AND NOT is_bot")}
            {database.Dialect.CommittedAfter("events")} LIMIT @take
            """, new { workspaceId, type, after, take }, cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>The id of the workspace's last settled event (where a reader that wants only new events starts), or null.</summary>
    public async Task<string?> LastAsync(string workspaceId, CancellationToken cancellationToken)
    {
        var dialect = database.Dialect;
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            $"""
            SELECT id FROM events WHERE workspace_id = @workspaceId AND {dialect.Settled}
            ORDER BY {dialect.CommitSequence} DESC, id DESC LIMIT 1
            """, new { workspaceId }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Deletes events older than the cutoff that no delivery still refers to (deliveries are the webhook room's; an
    /// event one of them points at is its payload, so it stays), a batch per transaction.
    /// </summary>
    public Task<int> PurgeOlderThanAsync(long cutoffMs, CancellationToken cancellationToken) =>
        BatchedDelete.BelowAsync(database, "events", Ids.LowerBound("evt", cutoffMs),
            "NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = events.id)", cancellationToken);
}
