using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Tern.Contracts;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>Workspaces and API keys (scope <c>admin</c>).</summary>
public static class AccessEndpoints
{
    public static void MapAccess(this RouteGroupBuilder api)
    {
        var admin = api.MapGroup("").WithTags("Access").RequireAuthorization(Scopes.Admin);

        var workspaces = admin.MapGroup("/workspaces");
        workspaces.MapPost("/", CreateWorkspace).WithName("CreateWorkspace").WithSummary("Create a workspace");
        workspaces.MapGet("/", ListWorkspaces).WithName("ListWorkspaces").WithSummary("List workspaces");

        var keys = admin.MapGroup("/keys");
        keys.MapPost("/", CreateKey).WithName("CreateKey").WithSummary("Create an API key (shown once)");
        keys.MapGet("/", ListKeys).WithName("ListKeys").WithSummary("List the active keys of a workspace");
        keys.MapDelete("/{id}", RevokeKey).WithName("RevokeKey").WithSummary("Revoke a key at once");
    }

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

        var workspaceId = body.WorkspaceId ?? TernClaims.WorkspaceOf(user);
        if (errors.Count == 0 && await store.FindWorkspaceAsync(workspaceId, cancellationToken) is null)
        {
            errors["workspaceId"] = [$"No workspace has the id '{workspaceId}'."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var secret = ApiKeySecret.Generate();
        var (key, _) = await store.RegisterKeyAsync(secret, workspaceId, name, scopes, cancellationToken);
        return TypedResults.Created($"/api/v1/keys/{key.Id}",
            new CreatedKeyResponse(key.Id, secret, key.Prefix, key.Name, key.Scopes, key.WorkspaceId, key.CreatedAt));
    }

    public static async Task<Results<Ok<ListResponse<KeyResponse>>, ProblemHttpResult>> ListKeys(
        ClaimsPrincipal user, AccessStore store, string? workspaceId, CancellationToken cancellationToken)
    {
        var keys = await store.ListKeysAsync(workspaceId ?? TernClaims.WorkspaceOf(user), cancellationToken);
        return TypedResults.Ok(new ListResponse<KeyResponse>(
            [.. keys.Select(k => new KeyResponse(k.Id, k.Prefix, k.Name, k.Scopes, k.WorkspaceId, k.CreatedAt))], null));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(
        string id, AccessStore store, CancellationToken cancellationToken) =>
        await store.RevokeKeyAsync(id, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.Result(Problems.NotFound, $"No active key has the id '{id}'.");

    private static WorkspaceResponse ToResponse(Workspace workspace) => new(workspace.Id, workspace.Name, workspace.CreatedAt);
}
