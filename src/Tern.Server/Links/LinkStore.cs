using System.Data.Common;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Tern.Contracts;
using Tern.Server.Events;
using Tern.Server.Storage;

namespace Tern.Server.Links;

/// <summary>Filters of <c>GET /api/v1/links</c>; <c>ExpiresBetween</c> (Unix ms, from exclusive) serves the dashboard's "expiring soon".</summary>
public sealed record LinkFilter(string? Tag, string? Query, bool? Archived, string? ExternalId, (long From, long To)? ExpiresBetween = null);

/// <summary>
/// Links in storage. Writes take the caller's connection and transaction so that a change and what it causes
/// (tags now, events later) commit together; reads open their own connection.
/// </summary>
public sealed class LinkStore(Database database)
{
    private static readonly string Columns = string.Join(", ", LinkRow.Map.Select(c => c.Name));

    private static readonly string InsertLink =
        $"INSERT INTO links ({Columns}) VALUES ({string.Join(", ", LinkRow.Map.Select(c => "@" + c.Name))}) ON CONFLICT DO NOTHING";

    /// <summary>Every column an update writes, then the expiry mark, which a changed expiry or click limit clears.</summary>
    private static readonly string UpdateLink =
        $"UPDATE links SET {string.Join(", ", LinkRow.Map.Where(c => c.Updated).Select(c => $"{c.Name} = @{c.Name}"))}, " +
        "expired_event_at = CASE WHEN @expiry_changed THEN NULL ELSE expired_event_at END WHERE id = @id AND workspace_id = @workspace_id";

    /// <summary>Inserts the link unless its slug or externalId is taken; true when it was inserted.</summary>
    public async Task<bool> TryInsertAsync(DbConnection connection, DbTransaction transaction, Link link, CancellationToken cancellationToken)
    {
        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            InsertLink, LinkRow.From(link).Parameters(), transaction, cancellationToken: cancellationToken));
        if (inserted == 1)
        {
            await InsertTagsAsync(connection, transaction, [link], cancellationToken);
        }

        return inserted == 1;
    }

    /// <summary>
    /// Inserts the link unless its slug or externalId is taken, and only then its tags and <paramref name="created"/>,
    /// the event announcing it; true when they were inserted. On PostgreSQL one statement writes all three (the event's
    /// insert reads the link's <c>RETURNING</c>), so that a creation can travel to the database once, as a statement
    /// that commits on its own (<paramref name="transaction"/> null; <see cref="Database.WriteStatementAsync{T}"/>).
    /// </summary>
    public async Task<bool> TryInsertAsync(
        DbConnection connection, DbTransaction? transaction, Link link, AppendedEvent created, CancellationToken cancellationToken)
    {
        if (database.Provider != StorageProvider.Postgres) // SQLite, in-process, has no writes inside WITH and no round trips to save
        {
            ArgumentNullException.ThrowIfNull(transaction); // its statements are several, so they need one
            if (!await TryInsertAsync(connection, transaction, link, cancellationToken))
            {
                return false;
            }

            await EventLog.AppendAsync(connection, transaction, [created], cancellationToken);
            return true;
        }

        var parameters = LinkRow.From(link).Parameters();
        EventLog.Bind(created, parameters);
        var tags = "";
        if (link.Tags.Count > 0)
        {
            parameters.Add("tag_list", link.Tags.ToArray());
            tags = """
                , tagged AS (
                    INSERT INTO link_tags (workspace_id, tag, link_id)
                    SELECT inserted.workspace_id, t.tag, inserted.id FROM inserted, unnest(@tag_list) AS t(tag) ON CONFLICT DO NOTHING)
                """;
        }

        var eventId = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            $"WITH inserted AS ({InsertLink} RETURNING id, workspace_id){tags} {EventLog.InsertFrom("inserted")} RETURNING id",
            parameters, transaction, cancellationToken: cancellationToken));
        return eventId is not null;
    }

    /// <summary>
    /// Rows per multi-row INSERT of links through a driver's named parameters: 29 each, so 725 per statement (wider
    /// statements were slower through the SQLite driver, which looks parameters up by name one by one). Neither provider
    /// takes that path now: SQLite runs one row per execution of a statement bound by position
    /// (<see cref="Storage.Sqlite.SqliteRows"/>), PostgreSQL all rows in one statement of arrays.
    /// </summary>
    private const int LinksPerStatement = 25;

    /// <summary>
    /// Inserts the links whose slug and externalId are free, with their tags, in a few multi-row statements;
    /// returns the ids of those inserted. The others are left for the caller to explain.
    /// </summary>
    public static async Task<HashSet<string>> TryInsertManyAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<Link> links, CancellationToken cancellationToken)
    {
        var inserted = await MultiRowStatement.QueryStringsAsync(connection, transaction,
            $"INSERT INTO links ({Columns}) VALUES ", " ON CONFLICT DO NOTHING RETURNING id", LinkRow.ColumnCount, LinksPerStatement, links,
            static (link, values) => LinkRow.From(link).CopyTo(values), cancellationToken);
        var ids = inserted.ToHashSet(StringComparer.Ordinal);
        await InsertTagsAsync(connection, transaction, [.. links.Where(l => ids.Contains(l.Id))], cancellationToken);
        return ids;
    }

    /// <summary>Writes every field of the link; a taken slug or externalId throws a unique violation.</summary>
    public async Task UpdateAsync(DbConnection connection, DbTransaction transaction, Link link, bool expiryChanged, CancellationToken cancellationToken)
    {
        var parameters = LinkRow.From(link).Parameters();
        parameters.Add("expiry_changed", expiryChanged);
        await connection.ExecuteAsync(new CommandDefinition(UpdateLink, parameters, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM link_tags WHERE link_id = @Id", new { link.Id }, transaction, cancellationToken: cancellationToken));
        await InsertTagsAsync(connection, transaction, [link], cancellationToken);
    }

    /// <summary>Deletes the link and returns it, or null when the workspace has no such link.</summary>
    public Task<Link?> DeleteAsync(DbConnection connection, DbTransaction transaction, string workspaceId, string id, CancellationToken cancellationToken) =>
        QueryOneAsync(connection, transaction, $"DELETE FROM links WHERE id = @id AND workspace_id = @workspaceId RETURNING {Columns}",
            new { id, workspaceId }, cancellationToken);

    public Task<Link?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        ReadAsync(connection => FindAsync(connection, null, workspaceId, id, cancellationToken), cancellationToken);

    public static Task<Link?> FindAsync(DbConnection connection, DbTransaction? transaction, string workspaceId, string id, CancellationToken cancellationToken) =>
        QueryOneAsync(connection, transaction, $"SELECT {Columns} FROM links WHERE id = @id AND workspace_id = @workspaceId",
            new { id, workspaceId }, cancellationToken);

    /// <summary>The link on this domain and slug, in whichever workspace it is.</summary>
    public Task<Link?> FindBySlugAsync(string domain, string slug, CancellationToken cancellationToken) =>
        ReadAsync(connection => FindBySlugAsync(connection, null, domain, slug, cancellationToken), cancellationToken);

    public static Task<Link?> FindBySlugAsync(DbConnection connection, DbTransaction? transaction, string domain, string slug, CancellationToken cancellationToken) =>
        QueryOneAsync(connection, transaction, $"SELECT {Columns} FROM links WHERE domain = @domain AND slug = @slug",
            new { domain, slug }, cancellationToken);

    public static Task<Link?> FindByExternalIdAsync(DbConnection connection, DbTransaction? transaction, string workspaceId, string externalId, CancellationToken cancellationToken) =>
        QueryOneAsync(connection, transaction, $"SELECT {Columns} FROM links WHERE workspace_id = @workspaceId AND external_id = @externalId",
            new { workspaceId, externalId }, cancellationToken);

    /// <summary>The links with any of these slugs, on any domain and in any workspace (the caller matches the domain).</summary>
    public async Task<IReadOnlyList<Link>> FindBySlugsAsync(
        DbConnection connection, DbTransaction? transaction, IReadOnlyCollection<string> slugs, CancellationToken cancellationToken) =>
        slugs.Count == 0 ? [] : await QueryAsync(connection, transaction,
            $"SELECT {Columns} FROM links WHERE {database.Dialect.InList("slug", "slugs")}",
            new { slugs = database.Dialect.List(slugs) }, cancellationToken);

    public async Task<IReadOnlyList<Link>> FindByExternalIdsAsync(
        DbConnection connection, DbTransaction? transaction, string workspaceId, IReadOnlyCollection<string> externalIds,
        CancellationToken cancellationToken) =>
        externalIds.Count == 0 ? [] : await QueryAsync(connection, transaction,
            $"SELECT {Columns} FROM links WHERE workspace_id = @workspaceId AND {database.Dialect.InList("external_id", "externalIds")}",
            new { workspaceId, externalIds = database.Dialect.List(externalIds) }, cancellationToken);

    /// <summary>
    /// One page of the links a bulk filter selects (the given ids, the links with the tag, or both), in id order
    /// after <paramref name="after"/>; read in the caller's transaction so that the change is made to what was read.
    /// </summary>
    public async Task<IReadOnlyList<Link>> FindSelectedAsync(
        DbConnection connection, DbTransaction transaction, string workspaceId, IReadOnlyCollection<string>? ids, string? tag,
        string? after, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {Columns} FROM links l WHERE workspace_id = @workspaceId");
        if (ids is not null)
        {
            sql.Append(" AND ").Append(database.Dialect.InList("id", "ids"));
        }

        if (tag is not null)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM link_tags t WHERE t.workspace_id = @workspaceId AND t.tag = @tag AND t.link_id = l.id)");
        }

        if (after is not null)
        {
            sql.Append(" AND id > @after");
        }

        sql.Append(" ORDER BY id LIMIT @limit");
        return await QueryAsync(connection, transaction, sql.ToString(), new { workspaceId, ids = ids is null ? null : database.Dialect.List(ids), tag, after, limit }, cancellationToken);
    }

    /// <summary>Deletes the workspace's links among these ids; returns those deleted.</summary>
    public async Task<IReadOnlyList<Link>> DeleteManyAsync(
        DbConnection connection, DbTransaction transaction, string workspaceId, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ids.Count == 0 ? [] : await QueryAsync(connection, transaction,
            $"DELETE FROM links WHERE workspace_id = @workspaceId AND {database.Dialect.InList("id", "ids")} RETURNING {Columns}",
            new { workspaceId, ids = database.Dialect.List(ids) }, cancellationToken);

    /// <summary>The workspace's links among these ids (missing ones are left out).</summary>
    public Task<IReadOnlyList<Link>> FindManyAsync(string workspaceId, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        ReadAsync(connection => FindManyAsync(connection, null, workspaceId, ids, cancellationToken), cancellationToken);

    public async Task<IReadOnlyList<Link>> FindManyAsync(
        DbConnection connection, DbTransaction? transaction, string workspaceId, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<Link>(ids.Count);
        foreach (var part in ids.Chunk(SqlDialect.ListPart))
        {
            found.AddRange(await QueryAsync(connection, transaction,
                $"SELECT {Columns} FROM links WHERE workspace_id = @workspaceId AND {database.Dialect.InList("id", "ids")}",
                new { workspaceId, ids = database.Dialect.List(part) }, cancellationToken));
        }

        return found;
    }

    /// <summary>One page, newest first; <paramref name="before"/> is the id of the last link of the previous page.</summary>
    public async Task<IReadOnlyList<Link>> ListAsync(
        string workspaceId, LinkFilter filter, string? before, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {Columns} FROM links l WHERE workspace_id = @workspaceId");
        if (before is not null)
        {
            sql.Append(" AND id < @before");
        }

        if (filter.Tag is not null)
        {
            sql.Append(" AND EXISTS (SELECT 1 FROM link_tags t WHERE t.workspace_id = @workspaceId AND t.tag = @tag AND t.link_id = l.id)");
        }

        if (filter.Archived is not null)
        {
            sql.Append(" AND archived = @archived");
        }

        if (filter.ExternalId is not null)
        {
            sql.Append(" AND external_id = @externalId");
        }

        if (filter.ExpiresBetween is not null)
        {
            sql.Append(" AND expires_at > @expiresFrom AND expires_at <= @expiresTo");
        }

        string? pattern = null;
        if (!string.IsNullOrEmpty(filter.Query))
        {
            var like = database.Dialect.CaseInsensitiveLike;
            pattern = "%" + filter.Query.Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%";
            sql.Append($" AND (slug {like} @pattern ESCAPE '\\' OR url {like} @pattern ESCAPE '\\' OR title {like} @pattern ESCAPE '\\')");
        }

        sql.Append(" ORDER BY id DESC LIMIT @limit");
        return await ReadAsync(connection => QueryAsync(connection, null, sql.ToString(),
            new { workspaceId, before, tag = filter.Tag, archived = filter.Archived, externalId = filter.ExternalId, pattern, limit, expiresFrom = filter.ExpiresBetween?.From, expiresTo = filter.ExpiresBetween?.To },
            cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The links due to be marked expired: past their expiry, through <c>links_expiring</c> (only links with an expiry
    /// not yet announced, in expiry order), so that the sweep reads the links it returns rather than every link; or,
    /// among the clicked ones (<c>@ids</c>), those at their click limit.
    /// </summary>
    internal string ExpiredSql(bool byClickLimit) => byClickLimit
        ? $"SELECT {Columns} FROM links WHERE {database.Dialect.InList("id", "ids")} AND max_clicks IS NOT NULL AND clicks >= max_clicks AND expired_event_at IS NULL ORDER BY id LIMIT @limit"
        : $"SELECT {Columns} FROM links WHERE expires_at <= @now AND expires_at IS NOT NULL AND expired_event_at IS NULL ORDER BY expires_at, id LIMIT @limit";

    /// <summary>
    /// Marks links as expired-and-announced: those past <c>expires_at</c>, or among <paramref name="clickedIds"/> at
    /// their click limit, not yet marked. Returns the links this call marked, so only one node announces each.
    /// </summary>
    public async Task<IReadOnlyList<Link>> MarkExpiredAsync(
        DbConnection connection, DbTransaction transaction, long now, IReadOnlyCollection<string>? clickedIds, int limit, CancellationToken cancellationToken)
    {
        // A fold's clicked links in parts (SqlDialect.ListPart), in id order across the parts too, so that nodes marking
        // links at once lock them in the same order; the sweep's query takes no list.
        var rows = new List<LinkRow>();
        foreach (var part in clickedIds?.Order(StringComparer.Ordinal).Chunk(SqlDialect.ListPart) ?? [])
        {
            rows.AddRange(await ExpiredAsync(part));
        }

        if (clickedIds is null)
        {
            rows.AddRange(await ExpiredAsync(null));
        }

        var marked = new List<Link>(rows.Count);
        foreach (var row in rows)
        {
            if (await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE links SET expired_event_at = @now WHERE id = @Id AND expired_event_at IS NULL",
                    new { now, row.Id }, transaction, cancellationToken: cancellationToken)) == 1)
            {
                marked.Add(row.ToLink());
            }
        }

        return marked;

        Task<IEnumerable<LinkRow>> ExpiredAsync(string[]? ids) => connection.QueryAsync<LinkRow>(new CommandDefinition(
            ExpiredSql(byClickLimit: ids is not null), new { now, ids = ids is null ? null : database.Dialect.List(ids), limit },
            transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Where each of these links is now, its <c>updated_at</c> and its stored click count, by id; a deleted link is
    /// absent. Any workspace's, on a connection of its own.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, LinkVersion>> FindVersionsAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return new Dictionary<string, LinkVersion>();
        }

        var rows = await ReadAsync(connection => connection.QueryAsync<LinkVersion>(new CommandDefinition(
            $"SELECT id, domain, slug, updated_at AS updated_at_ms, clicks FROM links WHERE {database.Dialect.InList("id", "ids")}",
            new { ids = database.Dialect.List(ids) }, cancellationToken: cancellationToken)), cancellationToken);
        return rows.ToDictionary(r => r.Id, StringComparer.Ordinal);
    }

    /// <summary>Runs a read on a connection of its own.</summary>
    private async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await read(connection);
    }

    private static async Task<Link?> QueryOneAsync(
        DbConnection connection, DbTransaction? transaction, string sql, object parameters, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<LinkRow>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken)))
            ?.ToLink();

    private static async Task<IReadOnlyList<Link>> QueryAsync(
        DbConnection connection, DbTransaction? transaction, string sql, object parameters, CancellationToken cancellationToken) =>
        [.. (await connection.QueryAsync<LinkRow>(new CommandDefinition(sql, parameters, transaction, cancellationToken: cancellationToken)))
            .Select(r => r.ToLink())];

    private static Task InsertTagsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Link> links, CancellationToken cancellationToken) =>
        MultiRowStatement.ExecuteAsync(connection, transaction,
            "INSERT INTO link_tags (workspace_id, tag, link_id) VALUES ", " ON CONFLICT DO NOTHING", 3, 100,
            [.. links.SelectMany(l => l.Tags.Select(tag => (l.WorkspaceId, Tag: tag, LinkId: l.Id)))],
            static (tag, values) =>
            {
                values[0] = tag.WorkspaceId;
                values[1] = tag.Tag;
                values[2] = tag.LinkId;
            }, cancellationToken);

    /// <summary>The row as stored: instants in Unix milliseconds, tags as a JSON array in display order.</summary>
    private sealed class LinkRow
    {
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string Domain { get; set; } = "";
        public string Slug { get; set; } = "";
        public string BaseUrl { get; set; } = "";
        public string Url { get; set; } = "";
        public string? UtmSource { get; set; }
        public string? UtmMedium { get; set; }
        public string? UtmCampaign { get; set; }
        public string? UtmTerm { get; set; }
        public string? UtmContent { get; set; }
        public string Tags { get; set; } = "[]";
        public string? ExternalId { get; set; }
        public string? Title { get; set; }
        public long? ExpiresAt { get; set; }
        public string? ExpiredUrl { get; set; }
        public long? MaxClicks { get; set; }
        public int RedirectType { get; set; }
        public bool ForwardQuery { get; set; }
        public bool Archived { get; set; }
        public long? StartsAt { get; set; }
        public string? PrelaunchUrl { get; set; }
        public string? Rules { get; set; }
        public string? Variants { get; set; }
        public string? Preview { get; set; }
        public string? PasswordHash { get; set; }
        public long Clicks { get; set; }
        public long CreatedAt { get; set; }
        public long UpdatedAt { get; set; }

        /// <summary>
        /// The stored columns in order, each with its value in a row and whether an update writes it (an update
        /// keeps the link's identity, click count and creation time): the one list behind the column list, the
        /// binders of inserts and the SET clause of updates.
        /// </summary>
        public static readonly LinkColumn[] Map =
        [
            new("id", r => r.Id, Updated: false),
            new("workspace_id", r => r.WorkspaceId, Updated: false),
            new("domain", r => r.Domain),
            new("slug", r => r.Slug),
            new("base_url", r => r.BaseUrl),
            new("url", r => r.Url),
            new("utm_source", r => r.UtmSource),
            new("utm_medium", r => r.UtmMedium),
            new("utm_campaign", r => r.UtmCampaign),
            new("utm_term", r => r.UtmTerm),
            new("utm_content", r => r.UtmContent),
            new("tags", r => r.Tags),
            new("external_id", r => r.ExternalId),
            new("title", r => r.Title),
            new("expires_at", r => r.ExpiresAt),
            new("expired_url", r => r.ExpiredUrl),
            new("max_clicks", r => r.MaxClicks),
            new("redirect_type", r => r.RedirectType),
            new("forward_query", r => r.ForwardQuery),
            new("archived", r => r.Archived),
            new("starts_at", r => r.StartsAt),
            new("prelaunch_url", r => r.PrelaunchUrl),
            new("rules", r => r.Rules),
            new("variants", r => r.Variants),
            new("preview", r => r.Preview),
            new("password_hash", r => r.PasswordHash),
            new("clicks", r => r.Clicks, Updated: false),
            new("created_at", r => r.CreatedAt, Updated: false),
            new("updated_at", r => r.UpdatedAt),
        ];

        public static int ColumnCount => Map.Length;

        /// <summary>The row's values in the order of <see cref="Map"/>, for multi-row statements.</summary>
        public void CopyTo(object?[] values)
        {
            for (var i = 0; i < Map.Length; i++)
            {
                values[i] = Map[i].Value(this);
            }
        }

        /// <summary>The row's values as parameters named after their columns (<c>@external_id</c>).</summary>
        public DynamicParameters Parameters()
        {
            var parameters = new DynamicParameters();
            foreach (var column in Map)
            {
                parameters.Add(column.Name, column.Value(this));
            }

            return parameters;
        }

        public static LinkRow From(Link link) => new()
        {
            Id = link.Id,
            WorkspaceId = link.WorkspaceId,
            Domain = link.Domain,
            Slug = link.Slug,
            BaseUrl = link.BaseUrl,
            Url = link.Url,
            UtmSource = link.Utm?.Source,
            UtmMedium = link.Utm?.Medium,
            UtmCampaign = link.Utm?.Campaign,
            UtmTerm = link.Utm?.Term,
            UtmContent = link.Utm?.Content,
            Tags = JsonSerializer.Serialize(link.Tags, StorageJsonContext.Default.IReadOnlyListString),
            ExternalId = link.ExternalId,
            Title = link.Title,
            ExpiresAt = link.ExpiresAt?.ToUnixTimeMilliseconds(),
            ExpiredUrl = link.ExpiredUrl,
            MaxClicks = link.MaxClicks,
            RedirectType = link.RedirectType,
            ForwardQuery = link.ForwardQuery,
            Archived = link.Archived,
            StartsAt = link.StartsAt?.ToUnixTimeMilliseconds(),
            PrelaunchUrl = link.PrelaunchUrl,
            Rules = SmartLinkJson.Rules(link.Rules),
            Variants = SmartLinkJson.Variants(link.Variants),
            Preview = SmartLinkJson.Preview(link.Preview),
            PasswordHash = link.PasswordHash,
            Clicks = link.Clicks,
            CreatedAt = link.CreatedAt.ToUnixTimeMilliseconds(),
            UpdatedAt = link.UpdatedAt.ToUnixTimeMilliseconds(),
        };

        public Link ToLink() => new()
        {
            Id = Id,
            WorkspaceId = WorkspaceId,
            Domain = Domain,
            Slug = Slug,
            BaseUrl = BaseUrl,
            Url = Url,
            Utm = LinkValidator.Normalize(new UtmParameters
            {
                Source = UtmSource,
                Medium = UtmMedium,
                Campaign = UtmCampaign,
                Term = UtmTerm,
                Content = UtmContent,
            }),
            Tags = JsonSerializer.Deserialize(Tags, StorageJsonContext.Default.IReadOnlyListString) ?? [],
            ExternalId = ExternalId,
            Title = Title,
            ExpiresAt = ExpiresAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null,
            ExpiredUrl = ExpiredUrl,
            MaxClicks = MaxClicks,
            RedirectType = RedirectType,
            ForwardQuery = ForwardQuery,
            Archived = Archived,
            StartsAt = StartsAt is { } startsAt ? DateTimeOffset.FromUnixTimeMilliseconds(startsAt) : null,
            PrelaunchUrl = PrelaunchUrl,
            Rules = SmartLinkJson.Rules(Rules),
            Variants = SmartLinkJson.Variants(Variants),
            Preview = SmartLinkJson.Preview(Preview),
            PasswordHash = PasswordHash,
            Clicks = Clicks,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt),
            UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAt),
        };
    }

    /// <summary>A column of <c>links</c>: its name, its value in a row, and whether an update writes it.</summary>
    private sealed record LinkColumn(string Name, Func<LinkRow, object?> Value, bool Updated = true);
}

[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;

/// <summary>Where a link is, which version of it is stored (its <c>updated_at</c>), and its stored click count.</summary>
public sealed record LinkVersion(string Id, string Domain, string Slug, long UpdatedAtMs, long Clicks);
