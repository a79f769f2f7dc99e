using System.Text.Json.Serialization;

namespace Tern.Client;

/// <summary>An RFC 9457 problem as Tern answers it (<c>application/problem+json</c>).</summary>
public sealed record TernProblem
{
    public string? Type { get; init; }
    public string? Title { get; init; }
    public int? Status { get; init; }
    public string? Detail { get; init; }
    public string? Instance { get; init; }
    /// <summary>Validation errors: each invalid field with its messages.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }
}

/// <summary>A call Tern answered with an error status; <see cref="Problem"/> holds its problem details.</summary>
public sealed class TernApiException : Exception
{
    public TernApiException(int statusCode, TernProblem problem, string? retryAfter = null)
        : base(Describe(statusCode, problem))
    {
        StatusCode = statusCode;
        Problem = problem;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>The problem details; built from the status alone when the answer had none.</summary>
    public TernProblem Problem { get; }

    /// <summary>The Retry-After header of the last answer (after the retries gave up), if any.</summary>
    public string? RetryAfter { get; }

    private static string Describe(int statusCode, TernProblem problem)
    {
        var text = $"{statusCode} {problem.Title}";
        if (!string.IsNullOrEmpty(problem.Detail))
        {
            text += ": " + problem.Detail;
        }

        if (problem.Errors is { Count: > 0 } errors)
        {
            text += " (" + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")) + ")";
        }

        return text;
    }
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TernProblem))]
internal sealed partial class ClientJsonContext : JsonSerializerContext;
