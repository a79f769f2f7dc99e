namespace Tern.Server.Redirect;

/// <summary>Where the redirect path enters the pipeline.</summary>
public static class RedirectEndpoint
{
    /// <summary>
    /// First in the pipeline: cached links are answered before exception handling, authentication and routing,
    /// which a redirect needs none of. Everything else falls through.
    /// </summary>
    public static void UseCachedRedirects(this IApplicationBuilder app)
    {
        var redirector = app.ApplicationServices.GetRequiredService<Redirector>();
        app.Use((HttpContext context, RequestDelegate next) => redirector.TryServeCached(context) ?? next(context));
    }

    /// <summary>
    /// Mapped last, and with the lowest precedence, so that every route Tern serves itself (<c>/api</c>,
    /// <c>/healthz</c>, <c>/openapi</c>, <c>/docs</c>, …) wins over a slug; those words are also reserved, so
    /// no link can hide them or be hidden by them. It answers what the fast path could not: cache misses
    /// (read from storage) and unknown slugs (404).
    /// </summary>
    public static void MapRedirects(this IEndpointRouteBuilder app)
    {
        var redirector = app.ServiceProvider.GetRequiredService<Redirector>();
        app.MapMethods("/{slug}", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)redirector.HandleAsync)
            .WithOrder(int.MaxValue)
            .WithName("FollowShortLink")
            .ExcludeFromDescription();
        // The password form of a protected link posts back to the short URL.
        app.MapPost("/{slug}", (RequestDelegate)redirector.HandlePasswordAsync)
            .WithOrder(int.MaxValue)
            .WithName("UnlockShortLink")
            .DisableAntiforgery()
            .ExcludeFromDescription();
    }
}
