using System.Data.Common;
using Dapper;
using Tern.Server.Storage;

namespace Tern.Server.Links;

/// <summary>What the click side asks of the links' tables: adding clicks to the links' counts, and a tag's links.</summary>
public static class LinkClickCounts
{
    /// <summary>
    /// Adds each link's new clicks to its stored count, in the caller's transaction, and returns where each link is
    /// now with its new count (a deleted link is absent): what a <c>link.clicked</c> event needs, without a second
    /// read. The trigger that announces link changes leaves <c>clicks</c> out of its column list, so this announces
    /// nothing.
    /// </summary>
    public static async Task<IReadOnlyList<CountedLink>> AddAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<string, long> countsByLinkId, CancellationToken cancellationToken) =>
        // In id order, so that nodes writing at once lock the links' rows in the same order and never deadlock.
        // SQLite and PostgreSQL both name the columns of a VALUES list column1, column2, … and accept UPDATE … FROM … RETURNING.
        await MultiRowStatement.QueryAsync(connection, transaction,
            "UPDATE links SET clicks = links.clicks + v.column2 FROM (VALUES ",
            ") AS v WHERE links.id = v.column1 RETURNING id, workspace_id, domain, slug, updated_at, clicks", 2, 1,
            [.. countsByLinkId.OrderBy(c => c.Key, StringComparer.Ordinal)],
            static (count, values) =>
            {
                values[0] = count.Key;
                values[1] = count.Value;
            },
            static row => new CountedLink(row.GetString(1),
                new LinkVersion(row.GetString(0), row.GetString(2), row.GetString(3), row.GetInt64(4), row.GetInt64(5))),
            cancellationToken);

    /// <summary>The ids of a workspace's links with this tag.</summary>
    public static async Task<IReadOnlyList<string>> LinkIdsTaggedAsync(Database database, string workspaceId, string tag, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return [.. await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT link_id FROM link_tags WHERE workspace_id = @workspaceId AND tag = @tag",
            new { workspaceId, tag }, cancellationToken: cancellationToken))];
    }
}

/// <summary>A link whose count a fold just added to: its workspace, and where it is now with its new count.</summary>
public readonly record struct CountedLink(string WorkspaceId, LinkVersion Version);
