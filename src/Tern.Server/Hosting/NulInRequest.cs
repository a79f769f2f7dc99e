namespace Tern.Server.Hosting;

/// <summary>
/// Refuses U+0000 (NUL) in an API request's query parameters with a validation problem naming each parameter:
/// PostgreSQL cannot hold it in text, and SQLite must not differ. Body fields are refused where they are read (the
/// JSON string converter, the CSV reader); Kestrel itself refuses a NUL in the path. Cost model: a request without
/// <c>%00</c> in its query pays one ordinal search.
/// </summary>
public static class NulInRequest
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var query = request.QueryString.Value;
        if (query is null || (!query.Contains("%00", StringComparison.Ordinal) && !query.Contains('\0', StringComparison.Ordinal)))
        {
            return next(context);
        }

        var errors = new Dictionary<string, string[]>();
        foreach (var (name, values) in request.Query)
        {
            if (name.Contains('\0', StringComparison.Ordinal) || values.Any(v => v?.Contains('\0', StringComparison.Ordinal) == true))
            {
                var shown = name.Replace("\0", "%00", StringComparison.Ordinal);
                errors[shown] = [$"{shown} contains U+0000 (NUL), which no parameter may hold."];
            }
        }

        if (errors.Count == 0)
        {
            return next(context);
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = Problems.Validation.ToProblem(errors.First().Value[0], errors),
        }).AsTask();
    }
}
