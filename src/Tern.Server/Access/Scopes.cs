namespace Tern.Server.Access;

/// <summary>The scopes an API key can hold; each is also the name of the authorization policy that requires it.</summary>
public static class Scopes
{
    public const string LinksRead = "links:read";
    public const string LinksWrite = "links:write";
    public const string AnalyticsRead = "analytics:read";
    public const string WebhooksRead = "webhooks:read";
    public const string WebhooksWrite = "webhooks:write";
    /// <summary>Manage the keys of the key's own workspace.</summary>
    public const string KeysWrite = "keys:write";

    /// <summary>The instance scope: every workspace and its keys. Only keys of the default workspace hold it.</summary>
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [LinksRead, LinksWrite, AnalyticsRead, WebhooksRead, WebhooksWrite, KeysWrite, Admin];

    public static bool IsKnown(string scope) => All.Contains(scope, StringComparer.Ordinal);

    /// <summary>
    /// The scopes a key acts with: <c>admin</c> only for a key of the default workspace (a key elsewhere that holds it,
    /// made before that rule, acts without it), and <c>admin</c> brings <c>keys:write</c> along.
    /// </summary>
    public static IEnumerable<string> Effective(ApiKey key)
    {
        var admin = key.Scopes.Contains(Admin) && key.WorkspaceId == AccessStore.DefaultWorkspaceId;
        return key.Scopes.Where(s => s != Admin || admin).Concat(admin && !key.Scopes.Contains(KeysWrite) ? [KeysWrite] : []);
    }
}

/// <summary>Claim types of an authenticated API key.</summary>
public static class TernClaims
{
    public const string KeyId = "tern:key";
    public const string WorkspaceId = "tern:workspace";
    public const string Scope = "scope";

    /// <summary>The key's own request budget as <c>perSecond/burst</c>; absent when it uses the server's.</summary>
    public const string RateLimit = "tern:rate";

    public static string WorkspaceOf(System.Security.Claims.ClaimsPrincipal user) =>
        user.FindFirst(WorkspaceId)?.Value ?? throw new InvalidOperationException("The request is not authenticated by an API key.");

    public static string KeyOf(System.Security.Claims.ClaimsPrincipal user) =>
        user.FindFirst(KeyId)?.Value ?? throw new InvalidOperationException("The request is not authenticated by an API key.");
}
