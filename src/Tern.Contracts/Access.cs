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
    /// <summary>The key's own request budget; default the server's (<c>Tern:RateLimit</c>).</summary>
    public KeyRateLimit? RateLimit { get; init; }
}

/// <summary>A key's request budget, a token bucket: <see cref="PerSecond"/> sustained, bursts of <see cref="Burst"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record KeyRateLimit
{
    public int? PerSecond { get; init; }
    public int? Burst { get; init; }
}

/// <summary>
/// A newly created key: <see cref="Key"/> is shown this once and stored only as a hash. A replay of the creating call
/// (same <c>Idempotency-Key</c>) answers the same key with <see cref="Key"/> null and <see cref="SecretWithheld"/> true.
/// </summary>
public sealed record CreatedKeyResponse(
    string Id, string? Key, string Prefix, string Name, IReadOnlyList<string> Scopes, string WorkspaceId, DateTimeOffset CreatedAt,
    KeyRateLimit? RateLimit = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? SecretWithheld = null);

public sealed record KeyResponse(
    string Id, string Prefix, string Name, IReadOnlyList<string> Scopes, string WorkspaceId, DateTimeOffset CreatedAt,
    KeyRateLimit? RateLimit = null);
