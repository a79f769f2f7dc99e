namespace Tern.Server.Hosting;

/// <summary>
/// Refuses U+0000 (NUL) in an API request's path or query parameters with a validation problem naming each
/// parameter: PostgreSQL cannot hold it in text, and SQLite must not differ. Body fields are refused where they are
/// read (the JSON string converter, the CSV reader). Cost model: a request without <c>%00</c> in its path or query
/// pays two ordinal searches.
/// </summary>
public static class NulInRequest
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var query = request.QueryString.Value;
        var inQuery = query is not null && (query.Contains("%00", StringComparison.Ordinal) || query.Contains('\0', StringComparison.Ordinal));
        var inPath = request.Path.Value?.Contains('\0', StringComparison.Ordinal) == true;
        if (!inQuery && !inPath)
        {
            return next(context);
        }

        var errors = new Dictionary<string, string[]>();
        if (inPath)
        {
            errors["path"] = ["The path contains U+0000 (NUL), which no identifier may hold."];
        }

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
