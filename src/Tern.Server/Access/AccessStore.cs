using Dapper;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Access;

public sealed record Workspace(string Id, string Name, DateTimeOffset CreatedAt);

public sealed record ApiKey(string Id, string WorkspaceId, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt)
{
    /// <summary>The key's own token bucket (tokens per second, burst), or null for the server's default.</summary>
    public (int PerSecond, int Burst)? RateLimit { get; init; }
}

/// <summary>Workspaces and API keys in storage; active keys are found through <paramref name="keys"/> when given.</summary>
public sealed class AccessStore(Database database, TimeProvider timeProvider, ApiKeyCache? keys = null)
{
    public const string DefaultWorkspaceId = "ws_default";

    public async Task<Workspace> CreateWorkspaceAsync(string name, CancellationToken cancellationToken, string? id = null)
    {
        var now = timeProvider.GetUtcNow();
        var workspace = new Workspace(id ?? Ids.New("ws", timeProvider), name, Trim(now));
        await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO workspaces (id, name, created_at) VALUES (@Id, @Name, @CreatedAt) ON CONFLICT DO NOTHING",
            new { workspace.Id, workspace.Name, CreatedAt = now.ToUnixTimeMilliseconds() }, transaction,
            cancellationToken: cancellationToken)), cancellationToken);
        return workspace;
    }

    public async Task<Workspace?> FindWorkspaceAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<WorkspaceRow>(new CommandDefinition(
            "SELECT id, name, created_at FROM workspaces WHERE id = @id", new { id }, cancellationToken: cancellationToken));
        return row?.ToWorkspace();
    }

    public async Task<IReadOnlyList<Workspace>> ListWorkspacesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<WorkspaceRow>(new CommandDefinition(
            "SELECT id, name, created_at FROM workspaces ORDER BY id DESC", cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToWorkspace())];
    }

    /// <summary>Stores a key by its hash; false when that key is already registered.</summary>
    public async Task<(ApiKey Key, bool Created)> RegisterKeyAsync(
        string secret, string workspaceId, string name, IReadOnlyList<string> scopes, CancellationToken cancellationToken,
        (int PerSecond, int Burst)? rateLimit = null)
    {
        var now = timeProvider.GetUtcNow();
        var key = new ApiKey(Ids.New("key", timeProvider), workspaceId, name, ApiKeySecret.DisplayPrefix(secret), scopes, Trim(now))
        {
            RateLimit = rateLimit,
        };
        var inserted = await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO api_keys (id, workspace_id, name, prefix, key_hash, scopes, created_at, rate_per_second, rate_burst)
            VALUES (@Id, @WorkspaceId, @Name, @Prefix, @Hash, @Scopes, @CreatedAt, @RatePerSecond, @RateBurst)
            ON CONFLICT DO NOTHING
            """,
            new
            {
                key.Id,
                key.WorkspaceId,
                key.Name,
                key.Prefix,
                Hash = ApiKeySecret.Hash(secret),
                Scopes = string.Join(' ', scopes),
                CreatedAt = now.ToUnixTimeMilliseconds(),
                RatePerSecond = rateLimit?.PerSecond,
                RateBurst = rateLimit?.Burst,
            },
            transaction, cancellationToken: cancellationToken)), cancellationToken);
        return (key, inserted == 1);
    }

    /// <summary>
    /// The active key with this secret, or null. Asked on every API request: from the cache of keys when it holds the
    /// key, which every revocation clears on every node.
    /// </summary>
    public async Task<ApiKey?> FindActiveKeyAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = ApiKeySecret.Hash(secret);
        if (keys is not null && keys.TryGet(hash, out var cached))
        {
            return cached;
        }

        var mark = keys?.Mark ?? 0;
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
            $"SELECT {KeyColumns} FROM api_keys WHERE key_hash = @hash AND revoked_at IS NULL",
            new { hash }, cancellationToken: cancellationToken));
        var key = row?.ToKey();
        if (key is not null)
        {
            keys?.Add(hash, key, mark);
        }

        return key;
    }

    public async Task<IReadOnlyList<ApiKey>> ListKeysAsync(string workspaceId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<ApiKeyRow>(new CommandDefinition(
            $"SELECT {KeyColumns} FROM api_keys WHERE workspace_id = @workspaceId AND revoked_at IS NULL ORDER BY id DESC",
            new { workspaceId }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToKey())];
    }

    /// <summary>The active key with this id and whether it is the key whose secret hashes to <paramref name="secretHash"/>.</summary>
    public async Task<(ApiKey Key, bool IsSecret)?> FindActiveKeyByIdAsync(string id, string? secretHash, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(new CommandDefinition(
            $"SELECT {KeyColumns} FROM api_keys WHERE id = @id AND revoked_at IS NULL", new { id }, cancellationToken: cancellationToken));
        return row is null ? null : (row.ToKey(), secretHash is not null && row.KeyHash == secretHash);
    }

    public async Task<long> CountActiveKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL", cancellationToken: cancellationToken));
    }

    /// <summary>Revokes the key. This node's cache forgets it before the call returns; other nodes' when the trigger's notice reaches them.</summary>
    public Task<bool> RevokeKeyAsync(string id, CancellationToken cancellationToken) =>
        database.WriteClearingAsync(keys, async (connection, transaction) => await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_keys SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL",
            new { id, now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() }, transaction,
            cancellationToken: cancellationToken)) == 1, cancellationToken);

    private static DateTimeOffset Trim(DateTimeOffset instant) =>
        DateTimeOffset.FromUnixTimeMilliseconds(instant.ToUnixTimeMilliseconds());

    private sealed record WorkspaceRow(string Id, string Name, long CreatedAt)
    {
        public Workspace ToWorkspace() => new(Id, Name, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt));
    }

    private const string KeyColumns = "id, workspace_id, name, prefix, key_hash, scopes, created_at, rate_per_second, rate_burst";

    private sealed class ApiKeyRow
    {
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string Name { get; set; } = "";
        public string Prefix { get; set; } = "";
        public string KeyHash { get; set; } = "";
        public string Scopes { get; set; } = "";
        public long CreatedAt { get; set; }
        public int? RatePerSecond { get; set; }
        public int? RateBurst { get; set; }

        public ApiKey ToKey() => new(Id, WorkspaceId, Name, Prefix,
            Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt))
        {
            RateLimit = RatePerSecond is { } perSecond && RateBurst is { } burst ? (perSecond, burst) : null,
        };
    }
}
