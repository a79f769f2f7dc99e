using System.Data.Common;
using System.Text;
using Microsoft.Extensions.Primitives;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

/// <summary>
/// <c>GET</c>/<c>HEAD /{slug}</c>: resolve → respond → count. A cached link is answered synchronously with no
/// storage access and no allocation beyond what Kestrel does (the Location string is precomputed unless the
/// request has its own query to forward); only a cache miss reads storage.
/// </summary>
public static class RedirectEndpoint
{
    private static readonly byte[] NotFoundPage = Page("404", "Link not found",
        "There is no short link at this address. Check it for typos.");

    private static readonly byte[] GonePage = Page("410", "Link expired",
        "This short link has expired or was archived and has no fallback page.");

    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues Html = "text/html; charset=utf-8";

    /// <summary>
    /// Mapped last, and with the lowest precedence, so that every route Tern serves itself (<c>/api</c>,
    /// <c>/healthz</c>, <c>/openapi</c>, <c>/docs</c>, …) wins over a slug; those words are also reserved, so
    /// no link can hide them or be hidden by them.
    /// </summary>
    public static void MapRedirects(this IEndpointRouteBuilder app) =>
        app.MapMethods("/{slug}", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)HandleAsync)
            .WithOrder(int.MaxValue)
            .WithName("FollowShortLink")
            .ExcludeFromDescription();

    public static Task HandleAsync(HttpContext context)
    {
        var slug = context.Request.Path.Value.AsSpan(1);
        if (!SlugRules.IsWellFormed(slug))
        {
            return WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage);
        }

        var services = context.RequestServices;
        var cache = services.GetRequiredService<LinkCache>();
        var domains = services.GetRequiredService<ShortDomains>();
        var host = HostWithoutPort(context.Request.Host.Value);
        var onExtraDomain = domains.IsExtra(host);

        // The request's own domain first (when it is one of ours), then the default domain, which any Host reaches.
        CachedLink? link = null;
        var lookup = onExtraDomain ? cache.Lookup(host, slug, out link) : CacheLookup.Missing;
        if (lookup == CacheLookup.Missing)
        {
            lookup = cache.Lookup(domains.Default, slug, out link);
        }

        return lookup switch
        {
            CacheLookup.Found => Respond(context, link!),
            CacheLookup.Missing => WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage),
            _ => LoadAndRespondAsync(context, cache, domains, onExtraDomain ? host.ToString() : null, slug.ToString()),
        };
    }

    private static async Task LoadAndRespondAsync(HttpContext context, LinkCache cache, ShortDomains domains, string? extraHost, string slug)
    {
        CachedLink? link;
        try
        {
            link = extraHost is null ? null : await cache.LoadAsync(extraHost, slug, context.RequestAborted);
            link ??= await cache.LoadAsync(domains.Default, slug, context.RequestAborted);
        }
        catch (DbException exception)
        {
            Log.LinkLoadFailed(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RedirectEndpoint)), exception);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            return;
        }

        await (link is null ? WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage) : Respond(context, link));
    }

    private static Task Respond(HttpContext context, CachedLink link)
    {
        var isHead = HttpMethods.IsHead(context.Request.Method);
        var services = context.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        var active = !link.Archived && now < link.ExpiresAtMs;
        if (active)
        {
            active = isHead ? link.Tally.Total < link.MaxClicks : link.Tally.TryCount(link.MaxClicks);
        }

        var response = context.Response;
        response.Headers.CacheControl = NoStore;
        if (!active)
        {
            if (link.ExpiredUrl is null)
            {
                return WritePageAsync(context, StatusCodes.Status410Gone, GonePage);
            }

            response.StatusCode = StatusCodes.Status302Found;
            response.Headers.Location = link.ExpiredUrl;
            return Task.CompletedTask;
        }

        response.StatusCode = link.RedirectType;
        var query = context.Request.QueryString;
        response.Headers.Location = link.ForwardQuery && query.HasValue && query.Value!.Length > 1
            ? string.Concat(link.DestinationBeforeFragment, [link.QuerySeparator], query.Value.AsSpan(1), link.Fragment)
            : link.Destination;
        if (isHead)
        {
            return Task.CompletedTask;
        }

        // Counted: hand the click to the writer. Completes synchronously unless the queue is full (back-pressure).
        var headers = context.Request.Headers;
        var capture = new ClickCapture(link, now, headers.UserAgent, headers.Referer, headers.AcceptLanguage,
            CountryHeader(services, headers), context.Connection.RemoteIpAddress, headers["X-Forwarded-For"]);
        var enqueued = services.GetRequiredService<ClickQueue>().EnqueueAsync(capture, context.RequestAborted);
        return enqueued.IsCompletedSuccessfully ? Task.CompletedTask : enqueued.AsTask();
    }

    private static string? CountryHeader(IServiceProvider services, IHeaderDictionary headers)
    {
        var name = services.GetRequiredService<CountryResolver>().HeaderName;
        return name is null ? null : headers[name].ToString();
    }

    private static ReadOnlySpan<char> HostWithoutPort(string? host)
    {
        var span = host.AsSpan();
        if (span.StartsWith('['))
        {
            var end = span.IndexOf(']');
            return end < 0 ? span : span[..(end + 1)];
        }

        var colon = span.LastIndexOf(':');
        return colon < 0 ? span : span[..colon];
    }

    private static Task WritePageAsync(HttpContext context, int status, byte[] page)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.ContentType = Html;
        context.Response.ContentLength = page.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(page).AsTask();
    }

    private static byte[] Page(string status, string title, string message) => Encoding.UTF8.GetBytes($"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>{title}</title>
        <style>body{"{"}font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0;color:#1f2937{"}"}
        main{"{"}text-align:center{"}"}h1{"{"}font-size:4rem;margin:0;color:#6b7280{"}"}</style></head>
        <body><main><h1>{status}</h1><h2>{title}</h2><p>{message}</p></main></body></html>
        """);
}
