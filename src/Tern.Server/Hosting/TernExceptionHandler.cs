using System.Data.Common;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// Turns what escapes a handler into a problem: a request the framework could not read (bad JSON, wrong
/// content type, too large) into its 4xx, unreachable storage into 503, anything else into a logged 500.
/// </summary>
public sealed class TernExceptionHandler(IProblemDetailsService problems, Database database, ILogger<TernExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        var (kind, detail) = exception switch
        {
            BadHttpRequestException bad => (Problems.ForStatus(bad.StatusCode), Describe(bad)),
            JsonException json => (Problems.MalformedRequest, "The body is not valid JSON for this call: " + json.Message),
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
            context.Response.Headers.RetryAfter = "5";
        }

        context.Response.StatusCode = kind.Status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = kind.ToProblem(detail),
            Exception = exception,
        });
    }

    private static string Describe(BadHttpRequestException exception) => exception.InnerException switch
    {
        JsonException json => "The body is not valid JSON for this call: " + json.Message,
        { } inner => $"{exception.Message} {inner.Message}",
        null => exception.Message,
    };
}
