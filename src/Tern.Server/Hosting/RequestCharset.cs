namespace Tern.Server.Hosting;

/// <summary>
/// The <c>charset</c> of a request body. Tern reads bodies as UTF-8 only (RFC 8259 makes it JSON's one encoding), so
/// every spelling of UTF-8 is accepted (<c>utf-8</c>, <c>UTF8</c>, quoted <c>"utf-8"</c>) and an empty
/// <c>charset=</c> is read as UTF-8 too; the parameter is then taken off before the body is read. Any other charset
/// answers 415. Cost model: a request without "charset" in its Content-Type pays one ordinal search.
/// </summary>
public static class RequestCharset
{
    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var contentType = context.Request.ContentType;
        if (contentType is null || !contentType.Contains("charset", StringComparison.OrdinalIgnoreCase))
        {
            return next(context);
        }

        var parts = contentType.Split(';');
        var kept = new List<string>(parts.Length) { parts[0].Trim() };
        foreach (var parameter in parts.AsSpan(1))
        {
            var equals = parameter.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? parameter : parameter[..equals]).Trim();
            if (!name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                kept.Add(parameter.Trim());
                continue;
            }

            var value = equals < 0 ? "" : parameter[(equals + 1)..].Trim().Trim('"').Trim();
            if (value.Length > 0 && !value.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !value.Equals("utf8", StringComparison.OrdinalIgnoreCase))
            {
                return WriteUnsupportedAsync(context, value);
            }
        }

        context.Request.ContentType = string.Join("; ", kept.Where(p => p.Length > 0));
        return next(context);
    }

    private static Task WriteUnsupportedAsync(HttpContext context, string charset)
    {
        context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        var shown = charset.Length > 40 || charset.Any(char.IsControl) ? "this charset" : $"the charset '{charset}'";
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = Problems.UnsupportedMediaType.ToProblem(
                $"Tern reads request bodies as UTF-8 only, not in {shown}; send charset=utf-8 or no charset."),
        }).AsTask();
    }
}
