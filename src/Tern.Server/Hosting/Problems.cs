using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Tern.Server.Hosting;

/// <summary>
/// The kinds of error Tern answers, each with its own <c>type</c> URI (RFC 9457). The URIs are relative to the
/// server and resolve to a short description at <c>GET /problems/{kind}</c>.
/// </summary>
public static class Problems
{
    public static readonly ProblemKind Validation = new("validation", 400, "The request has invalid fields",
        "One or more fields failed validation; errors names each field and what is wrong with it.");
    public static readonly ProblemKind MalformedRequest = new("malformed-request", 400, "The request could not be read",
        "The body is not valid JSON for this call, a field has the wrong type, or a query parameter is malformed.");
    public static readonly ProblemKind Unauthorized = new("unauthorized", 401, "A valid API key is required",
        "Send Authorization: Bearer tern_… with a key that exists and has not been revoked.");
    public static readonly ProblemKind Forbidden = new("forbidden", 403, "The API key lacks a scope this call needs",
        "Create a key with the scope the detail names.");
    public static readonly ProblemKind NotFound = new("not-found", 404, "Not found",
        "Nothing exists at this address, or nothing with this id in the key's workspace.");
    public static readonly ProblemKind MethodNotAllowed = new("method-not-allowed", 405, "Method not allowed",
        "This path does not accept the method used.");
    public static readonly ProblemKind SlugTaken = new("slug-taken", 409, "The slug is not available",
        "Another link already uses this slug on this domain. Choose another slug or omit it for a random one.");
    public static readonly ProblemKind LinkConflict = new("link-conflict", 409, "A different link already exists",
        "A link with this slug or externalId exists in the workspace with a different definition. Retrying the same definition returns the existing link.");
    public static readonly ProblemKind ExternalIdTaken = new("external-id-taken", 409, "The externalId is already used",
        "Another link of the workspace has this externalId.");
    public static readonly ProblemKind ConfiguredKey = new("configured-key", 409, "Configuration owns this key",
        "The key is the one set as Tern:AdminKey; it cannot be revoked through the API. Change the configuration instead.");
    public static readonly ProblemKind IdempotencyKeyInUse = new("idempotency-key-in-use", 409, "A request with this Idempotency-Key is still in progress",
        "Wait for the first request to finish, then retry to get its response.");
    public static readonly ProblemKind IdempotencyKeyReused = new("idempotency-key-reused", 422, "The Idempotency-Key was used with another request",
        "An Idempotency-Key replays the first response only for the same method, path and body within 24 hours. Use a new key for a new request.");
    public static readonly ProblemKind PayloadTooLarge = new("payload-too-large", 413, "The request body is too large",
        "Send a smaller body; the limit is configured with Tern:MaxRequestBodyBytes.");
    public static readonly ProblemKind BatchTooLarge = new("batch-too-large", 413, "The batch has too many links",
        "A bulk create or a campaign matrix makes at most 1000 links per call, and a bulk update changes at most 10,000; split the batch.");
    public static readonly ProblemKind UnsupportedMediaType = new("unsupported-media-type", 415, "Unsupported media type",
        "Send the body as application/json (or text/csv where a call takes CSV).");
    public static readonly ProblemKind RateLimited = new("rate-limited", 429, "Too many requests",
        "The API key has used its request budget; retry after the number of seconds in Retry-After.");
    public static readonly ProblemKind StorageUnavailable = new("storage-unavailable", 503, "Storage is unavailable",
        "Tern cannot reach its database right now. Retry shortly.");
    public static readonly ProblemKind BackupUnsupported = new("backup-unsupported", 409, "This storage is not backed up through Tern",
        "Online backups through the API are for the embedded SQLite database; back up PostgreSQL with pg_dump or a base backup.");
    public static readonly ProblemKind Internal = new("internal", 500, "Internal error",
        "Tern failed to answer; the server log has the details.");

    public static IReadOnlyList<ProblemKind> All { get; } =
    [
        Validation, MalformedRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, SlugTaken, LinkConflict,
        ExternalIdTaken, ConfiguredKey, IdempotencyKeyInUse, IdempotencyKeyReused, PayloadTooLarge, BatchTooLarge, UnsupportedMediaType, RateLimited,
        StorageUnavailable, BackupUnsupported, Internal,
    ];

    /// <summary>The kind that a bare status code (from routing or Kestrel) stands for.</summary>
    public static ProblemKind ForStatus(int status) => status switch
    {
        400 => MalformedRequest,
        401 => Unauthorized,
        403 => Forbidden,
        404 => NotFound,
        405 => MethodNotAllowed,
        413 => PayloadTooLarge,
        415 => UnsupportedMediaType,
        429 => RateLimited,
        503 => StorageUnavailable,
        _ => Internal,
    };

    public static ProblemHttpResult Result(ProblemKind kind, string detail) =>
        TypedResults.Problem(kind.ToProblem(detail));

    public static ProblemHttpResult ValidationResult(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(Validation.ToProblem(
            errors.Count == 1 ? errors.First().Value[0] : $"{errors.Count} fields are invalid.", errors));

    public static void MapProblemDocs(this IEndpointRouteBuilder app) =>
        app.MapGet("/problems/{kind}", (string kind) =>
                All.FirstOrDefault(p => p.Name == kind) is { } problem
                    ? Results.Text($"{problem.Title} ({problem.Status})\n\n{problem.Description}\n", "text/plain; charset=utf-8")
                    : Results.NotFound())
            .ExcludeFromDescription();
}

public sealed record ProblemKind(string Name, int Status, string Title, string Description)
{
    public string Type => "/problems/" + Name;

    public ProblemDetails ToProblem(string detail, IDictionary<string, string[]>? errors = null)
    {
        var problem = errors is null
            ? new ProblemDetails()
            : new HttpValidationProblemDetails(errors);
        problem.Type = Type;
        problem.Title = Title;
        problem.Status = Status;
        problem.Detail = detail;
        return problem;
    }
}
