using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>The body of <c>POST /api/v1/links/bulk</c>: up to 1000 link bodies, each like <c>POST /api/v1/links</c>.</summary>
public sealed record BulkCreateRequest
{
    public IReadOnlyList<CreateLinkRequest>? Items { get; init; }
}

/// <summary>One result per item, in request order.</summary>
public sealed record BulkCreateResponse(IReadOnlyList<BulkItemResult> Results);

/// <summary>What became of one item: <c>created</c>, <c>existing</c> (the same definition was already there) or <c>error</c>.</summary>
public sealed record BulkItemResult
{
    public required int Index { get; init; }
    public required string Status { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LinkResponse? Link { get; init; }

    /// <summary>Why the item failed: a problem object like the API's problem+json answers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ItemProblem? Error { get; init; }

    /// <summary>In a dry run of a matrix: the link body the combination expands to.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CreateLinkRequest? Expanded { get; init; }
}

/// <summary>An RFC 9457 problem inside a larger answer; <see cref="Errors"/> names each invalid field.</summary>
public sealed record ItemProblem
{
    public required string Type { get; init; }
    public required string Title { get; init; }
    public required int Status { get; init; }
    public required string Detail { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IDictionary<string, string[]>? Errors { get; init; }
}

/// <summary>Which links a bulk change touches: the given ids, the links with the tag, or (both given) the ids that have the tag.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BulkFilter
{
    /// <summary>At most 1000 link ids.</summary>
    public IReadOnlyList<string>? Ids { get; init; }
    public string? Tag { get; init; }
}

/// <summary>The body of <c>PATCH /api/v1/links/bulk</c>: <see cref="Set"/> takes the fields of <c>PATCH /api/v1/links/{id}</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BulkUpdateRequest
{
    public BulkFilter? Filter { get; init; }
    public UpdateLinkRequest? Set { get; init; }
}

/// <param name="Matched">Links the filter selected.</param>
/// <param name="Updated">Links whose definition changed (each emits link.updated); the others already had the values.</param>
public sealed record BulkUpdateResponse(int Updated, int Matched);

/// <summary>The body of <c>POST /api/v1/links/bulk-delete</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record BulkDeleteRequest
{
    public BulkFilter? Filter { get; init; }
}

public sealed record BulkDeleteResponse(int Deleted);

/// <summary>
/// The body of <c>POST /api/v1/links/matrix</c>: a link body whose strings may hold <c>{dimension}</c> placeholders,
/// expanded over every combination of the dimensions' values (the last dimension varies fastest).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record MatrixRequest
{
    public CreateLinkRequest? Template { get; init; }
    public Dictionary<string, IReadOnlyList<string>>? Dimensions { get; init; }
    /// <summary>True: answer what would be created without writing anything.</summary>
    public bool? DryRun { get; init; }
}
