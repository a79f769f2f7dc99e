using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>
/// Workspaces (scope <c>admin</c>, an instance scope held only by keys of the default workspace) and API keys (scope
/// <c>keys:write</c> for the key's own workspace; <c>admin</c> for any).
/// </summary>
public static class AccessEndpoints
{
    public const int MaxPerSecond = 1_000_000;

    public static void MapAccess(this RouteGroupBuilder api)
    {
        var workspaces = api.MapGroup("/workspaces").WithTags("Access").RequireAuthorization(Scopes.Admin);
        workspaces.MapPost("/", CreateWorkspace).WithName("CreateWorkspace").WithSummary("Create a workspace (scope admin)");
        workspaces.MapGet("/", ListWorkspaces).WithName("ListWorkspaces").WithSummary("List workspaces (scope admin)");

        var keys = api.MapGroup("/keys").WithTags("Access").RequireAuthorization(Scopes.KeysWrite);
        keys.MapPost("/", CreateKey).WithName("CreateKey").WithMetadata(new WithholdOnReplay("key"))
            .WithSummary("Create an API key (shown once), optionally with its own rateLimit { perSecond, burst }");
        keys.MapGet("/", ListKeys).WithName("ListKeys").WithSummary("List the active keys of a workspace");
        keys.MapDelete("/{id}", RevokeKey).WithName("RevokeKey")
            .WithSummary("Revoke a key at once (409 for the key configured as Tern:AdminKey)");
    }

    private static bool IsAdmin(ClaimsPrincipal user) => user.HasClaim(TernClaims.Scope, Scopes.Admin);

    public static async Task<Results<Created<WorkspaceResponse>, ProblemHttpResult>> CreateWorkspace(
        CreateWorkspaceRequest body, AccessStore store, CancellationToken cancellationToken)
    {
        var name = body.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200 || name.Any(char.IsControl))
        {
            return Problems.ValidationResult(new Dictionary<string, string[]>
            {
                ["name"] = ["name is required: 1 to 200 characters without control characters."],
            });
        }

        var workspace = await store.CreateWorkspaceAsync(name, cancellationToken);
        return TypedResults.Created($"/api/v1/workspaces/{workspace.Id}", ToResponse(workspace));
    }

    public static async Task<Ok<ListResponse<WorkspaceResponse>>> ListWorkspaces(AccessStore store, CancellationToken cancellationToken)
    {
        var all = await store.ListWorkspacesAsync(cancellationToken);
        return TypedResults.Ok(new ListResponse<WorkspaceResponse>([.. all.Select(ToResponse)], null));
    }

    public static async Task<Results<Created<CreatedKeyResponse>, ProblemHttpResult>> CreateKey(
        CreateKeyRequest body, ClaimsPrincipal user, AccessStore store, CancellationToken cancellationToken)
    {
        var own = TernClaims.WorkspaceOf(user);
        if (!IsAdmin(user) && body.WorkspaceId is { } other && other != own)
        {
            return Problems.Result(Problems.Forbidden,
                "A key with keys:write manages the keys of its own workspace only; other workspaces need the scope 'admin'.");
        }

        var errors = new Dictionary<string, string[]>();
        var name = body.Name?.Trim() ?? "";
        if (name.Length is 0 or > 200 || name.Any(char.IsControl))
        {
            errors["name"] = ["name is required: 1 to 200 characters without control characters."];
        }

        var scopes = body.Scopes?.Distinct(StringComparer.Ordinal).ToList() ?? [];
        if (scopes.Count == 0)
        {
            errors["scopes"] = [$"scopes must list at least one of: {string.Join(", ", Scopes.All)}."];
        }
        else if (scopes.FirstOrDefault(s => !Scopes.IsKnown(s)) is { } unknown)
        {
            errors["scopes"] = [$"'{unknown}' is not a scope; known scopes are {string.Join(", ", Scopes.All)}."];
        }

        var workspaceId = body.WorkspaceId ?? own;
        if (errors.Count == 0 && await store.FindWorkspaceAsync(workspaceId, cancellationToken) is null)
        {
            errors["workspaceId"] = [$"No workspace has the id '{workspaceId}'."];
        }

        if (scopes.Contains(Scopes.Admin) && workspaceId != AccessStore.DefaultWorkspaceId)
        {
            errors["scopes"] = ["admin is an instance scope: only keys of the default workspace may hold it."];
        }
        else if (!IsAdmin(user) && scopes.FirstOrDefault(s => !user.HasClaim(TernClaims.Scope, s)) is { } notHeld)
        {
            errors["scopes"] = [$"A key may grant only scopes it holds itself; this one lacks '{notHeld}'."];
        }

        var rateLimit = CheckRateLimit(body.RateLimit, errors);

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var secret = ApiKeySecret.Generate();
        var (key, _) = await store.RegisterKeyAsync(secret, workspaceId, name, scopes, cancellationToken, rateLimit);
        return TypedResults.Created($"/api/v1/keys/{key.Id}",
            new CreatedKeyResponse(key.Id, secret, key.Prefix, key.Name, key.Scopes, key.WorkspaceId, key.CreatedAt, ToContract(key.RateLimit)));
    }

    private static (int PerSecond, int Burst)? CheckRateLimit(KeyRateLimit? requested, Dictionary<string, string[]> errors)
    {
        if (requested is null)
        {
            return null;
        }

        if (requested.PerSecond is not (>= 1 and <= MaxPerSecond))
        {
            errors["rateLimit.perSecond"] = [$"rateLimit.perSecond must be a whole number from 1 to {MaxPerSecond}."];
        }

        if (requested.Burst is not (>= 1 and <= MaxPerSecond))
        {
            errors["rateLimit.burst"] = [$"rateLimit.burst must be a whole number from 1 to {MaxPerSecond}."];
        }

        return requested is { PerSecond: { } perSecond, Burst: { } burst } ? (perSecond, burst) : null;
    }

    private static KeyRateLimit? ToContract((int PerSecond, int Burst)? limit) =>
        limit is { } l ? new KeyRateLimit { PerSecond = l.PerSecond, Burst = l.Burst } : null;

    public static async Task<Results<Ok<ListResponse<KeyResponse>>, ProblemHttpResult>> ListKeys(
        ClaimsPrincipal user, AccessStore store, string? workspaceId, CancellationToken cancellationToken)
    {
        var own = TernClaims.WorkspaceOf(user);
        if (!IsAdmin(user) && workspaceId is not null && workspaceId != own)
        {
            return Problems.Result(Problems.Forbidden,
                "A key with keys:write lists the keys of its own workspace only; other workspaces need the scope 'admin'.");
        }

        var keys = await store.ListKeysAsync(workspaceId ?? own, cancellationToken);
        return TypedResults.Ok(new ListResponse<KeyResponse>(
            [.. keys.Select(k => new KeyResponse(k.Id, k.Prefix, k.Name, k.Scopes, k.WorkspaceId, k.CreatedAt, ToContract(k.RateLimit)))], null));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(
        string id, ClaimsPrincipal user, AccessStore store, IOptions<TernOptions> options, CancellationToken cancellationToken)
    {
        var configured = options.Value.AdminKey;
        var found = await store.FindActiveKeyByIdAsync(
            id, string.IsNullOrWhiteSpace(configured) ? null : ApiKeySecret.Hash(configured), cancellationToken);
        if (found is not { } match || (!IsAdmin(user) && match.Key.WorkspaceId != TernClaims.WorkspaceOf(user)))
        {
            return Problems.Result(Problems.NotFound, $"No active key has the id '{id}'.");
        }

        if (match.IsSecret)
        {
            return Problems.Result(Problems.ConfiguredKey,
                "This key is configured as Tern:AdminKey; configuration owns it. Remove or change the setting and restart to retire it.");
        }

        return await store.RevokeKeyAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.Result(Problems.NotFound, $"No active key has the id '{id}'.");
    }

    private static WorkspaceResponse ToResponse(Workspace workspace) => new(workspace.Id, workspace.Name, workspace.CreatedAt);
}
