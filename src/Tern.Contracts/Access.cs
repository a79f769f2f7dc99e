using System.Text.Json.Serialization;

namespace Tern.Contracts;

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateWorkspaceRequest
{
    public string? Name { get; init; }
}

public sealed record WorkspaceResponse(string Id, string Name, DateTimeOffset CreatedAt);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateKeyRequest
{
    public string? Name { get; init; }
    public IReadOnlyList<string>? Scopes { get; init; }
    /// <summary>The workspace the key belongs to; default the caller's.</summary>
    public string? WorkspaceId { get; init; }
}

/// <summary>A newly created key: <see cref="Key"/> is shown this once and stored only as a hash.</summary>
public sealed record CreatedKeyResponse(
    string Id, string Key, string Prefix, string Name, IReadOnlyList<string> Scopes, string WorkspaceId, DateTimeOffset CreatedAt);

public sealed record KeyResponse(
    string Id, string Prefix, string Name, IReadOnlyList<string> Scopes, string WorkspaceId, DateTimeOffset CreatedAt);
