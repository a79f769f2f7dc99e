using System.Data.Common;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// Turns what escapes a handler into a problem: a request the framework could not read (bad JSON, wrong
/// content type, too large) into its 4xx, unreachable storage into 503, anything else into a logged 500.
/// </summary>
internal sealed class TernExceptionHandler(IProblemDetailsService problems, Database database, TernMetrics metrics, ILogger<TernExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        var json = exception as JsonException ?? exception.InnerException as JsonException;
        var (kind, detail) = exception switch
        {
            _ when json is not null => (JsonBindingErrors.IsValidation(json) ? Problems.Validation : Problems.MalformedRequest, JsonBindingErrors.Detail(json)),
            BadHttpRequestException bad => (Problems.ForStatus(bad.StatusCode), Describe(bad)),
            DbException db when database.Dialect.IsTransient(db) => (Problems.StorageUnavailable, Problems.StorageUnavailable.Description),
            TimeoutException => (Problems.StorageUnavailable, Problems.StorageUnavailable.Description),
            _ => (Problems.Internal, Problems.Internal.Description),
        };

        if (kind == Problems.Internal || kind == Problems.StorageUnavailable)
        {
            Log.UnhandledError(logger, exception, context.Request.Method, context.Request.Path);
        }

        if (kind == Problems.StorageUnavailable)
        {
            metrics.StorageErrors.Add(1);
            context.Response.Headers.RetryAfter = "5";
        }

        context.Response.StatusCode = kind.Status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = kind.ToProblem(detail, FieldErrors(json)),
            Exception = exception,
        });
    }

    /// <summary>The framework's words for a request it could not read, without the .NET names they may hold.</summary>
    private static string Describe(BadHttpRequestException exception) => JsonBindingErrors.WithoutTypeNames(exception.InnerException switch
    {
        { } inner => $"{exception.Message} {inner.Message}",
        null => exception.Message,
    });

    private static Dictionary<string, string[]>? FieldErrors(JsonException? json) =>
        json is not null && JsonBindingErrors.Describe(json) is ({ } field, var message)
            ? new Dictionary<string, string[]> { [field] = [message] }
            : null;
}
