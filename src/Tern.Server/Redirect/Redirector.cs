using System.Data.Common;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

/// <summary>
/// <c>GET</c>/<c>HEAD /{slug}</c>: resolve → respond → count. Everything it needs is captured once here, so a
/// request never opens a service scope. A cached link is answered synchronously: no storage access, no lock, and
/// no allocation beyond Kestrel's own (the Location string is the stored destination unless the request has a
/// query to forward; the click is a struct written into a bounded queue). Only a cache miss reads storage.
/// </summary>
public sealed class Redirector(
    LinkCache cache, ShortDomains domains, ClickQueue clicks, CountryResolver countries, TimeProvider timeProvider,
    PasswordAttempts passwordAttempts, IOptions<TernOptions> ternOptions, IConfiguration configuration, ILogger<Redirector> logger)
{
    private static readonly byte[] NotFoundPage = Page("404", "Link not found",
        "There is no short link at this address. Check it for typos.");

    private static readonly byte[] GonePage = Page("410", "Link expired",
        "This short link has expired or was archived and has no fallback page.");

    private static readonly byte[] NotLivePage = Page("404", "Not live yet",
        "This short link goes live later. Come back soon.");

    private static readonly byte[] PasswordPage = SmartPages.PasswordForm(wrong: false);
    private static readonly byte[] WrongPasswordPage = SmartPages.PasswordForm(wrong: true);

    private static readonly byte[] TooManyGuessesPage = Page("429", "Too many attempts",
        "Too many wrong passwords for this link. Wait a minute and try again.");

    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues Html = "text/html; charset=utf-8";

    private readonly string? _countryHeader = countries.HeaderName;
    private readonly IReadOnlyList<IPNetwork> _trustedProxies = ClientAddress.ParseNetworks(ternOptions.Value.TrustedProxies);
    private readonly bool _quietRedirects = Telemetry.QuietRedirects(configuration);

    /// <summary>
    /// The fast path, run before any other middleware: answers a GET or HEAD of a cached link and returns its task;
    /// returns null for anything else (an API route, an unknown or uncached slug), which then goes through the
    /// pipeline to the endpoint. Reserved words are never cached, so no route can be shadowed.
    /// </summary>
    public Task? TryServeCached(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return null;
        }

        var slug = request.Path.Value.AsSpan();
        if (slug.Length < 2 || !SlugRules.IsWellFormed(slug = slug[1..]))
        {
            return null;
        }

        var (lookup, link, _) = Lookup(context, slug);
        if (lookup != CacheLookup.Found)
        {
            return null;
        }

        if (_quietRedirects && context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics)
        {
            metrics.MetricsDisabled = true; // counted in tern.redirects; see Telemetry.RedirectDurationsKey
        }

        return Respond(context, link!);
    }

    /// <summary>The endpoint: answers every slug-shaped path, reading storage on a cache miss.</summary>
    public Task HandleAsync(HttpContext context)
    {
        var slug = context.Request.Path.Value.AsSpan(1);
        if (!SlugRules.IsWellFormed(slug))
        {
            return WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage);
        }

        var (lookup, link, onExtraDomain) = Lookup(context, slug);
        return lookup switch
        {
            CacheLookup.Found => Respond(context, link!),
            CacheLookup.Missing => WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage),
            _ => LoadAndRespondAsync(context, onExtraDomain ? HostWithoutPort(context.Request.Host.Value).ToString() : null, slug.ToString()),
        };
    }

    /// <summary>The request's own domain first (when it is one of ours), then the default domain, which any Host reaches.</summary>
    private (CacheLookup Lookup, CachedLink? Link, bool OnExtraDomain) Lookup(HttpContext context, ReadOnlySpan<char> slug)
    {
        var host = HostWithoutPort(context.Request.Host.Value);
        var onExtraDomain = domains.IsExtra(host);
        CachedLink? link = null;
        var lookup = onExtraDomain ? cache.Lookup(host, slug, out link) : CacheLookup.Missing;
        if (lookup == CacheLookup.Missing)
        {
            lookup = cache.Lookup(domains.Default, slug, out link);
        }

        return (lookup, link, onExtraDomain);
    }

    private async Task LoadAndRespondAsync(HttpContext context, string? extraHost, string slug)
    {
        CachedLink? link;
        try
        {
            link = extraHost is null ? null : await cache.LoadAsync(extraHost, slug, context.RequestAborted);
            link ??= await cache.LoadAsync(domains.Default, slug, context.RequestAborted);
        }
        catch (DbException exception)
        {
            Log.LinkLoadFailed(logger, exception);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            return;
        }

        await (link is null ? WritePageAsync(context, StatusCodes.Status404NotFound, NotFoundPage) : Respond(context, link));
    }

    private Task Respond(HttpContext context, CachedLink link, bool unlocked = false)
    {
        var isHead = HttpMethods.IsHead(context.Request.Method);
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var active = !link.Archived && now < link.ExpiresAtMs;
        if (active && link.Smart is { } gated && Gate(context, gated, now, unlocked) is { } gate)
        {
            return gate;
        }

        // The Location is made before the click is counted, so that nothing refusing it can leave a count behind.
        // A smart link's rules and variants are decided from the cached route: arrays only, no allocation.
        var decision = active && link.Smart is { HasChoices: true } smart ? smart.Decide(context.Request, now, countries, _countryHeader, _trustedProxies) : default;
        var query = context.Request.QueryString.Value;
        var fromQr = query is { Length: > 1 } && SmartRoute.HasParameter(query, SmartRoute.QrMarker);
        var location = Location(link, decision.Target, query, fromQr);

        if (active && link.Tally is { } tally)
        {
            active = isHead ? tally.Total < link.MaxClicks : tally.TryCount(link.MaxClicks);
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

        response.StatusCode = unlocked ? StatusCodes.Status303SeeOther : link.RedirectType;
        response.Headers.Location = location;
        if (isHead)
        {
            return Task.CompletedTask;
        }

        // Counted: hand the click to the writer. Completes synchronously unless the queue is full (back-pressure).
        var headers = context.Request.Headers;
        var capture = new ClickCapture(link.PackedId, link.WorkspaceId, link.Domain, link.Slug, link.MaxClicks != long.MaxValue, now,
            headers.UserAgent, headers.Referer, headers.AcceptLanguage, _countryHeader is null ? null : headers[_countryHeader].ToString(), context.Connection.RemoteIpAddress, headers["X-Forwarded-For"],
            decision.Target?.Url ?? link.Destination, decision.Target is null ? (short)-1 : decision.RuleIndex,
            decision.Target is null ? (short)-1 : decision.Variant, fromQr);
        var enqueued = clicks.EnqueueAsync(capture, context.RequestAborted);
        return enqueued.IsCompletedSuccessfully ? Task.CompletedTask : enqueued.AsTask();
    }

    /// <summary>Where the visitor goes: the chosen destination (or the link's), with their query forwarded less any QR marker.</summary>
    private static string Location(CachedLink link, RedirectTarget? target, string? query, bool fromQr)
    {
        if (!link.ForwardQuery || query is not { Length: > 1 })
        {
            return target?.Url ?? link.Destination;
        }

        // Only a QR scan pays for rebuilding the query; it happens once per scan.
        var forwarded = fromQr ? SmartRoute.WithoutQrMarker(query) : null;
        if (forwarded is { Length: 0 })
        {
            return target?.Url ?? link.Destination;
        }

        var rest = ForwardedQuery.Safe(forwarded is null ? query.AsSpan(1) : forwarded);
        return target is null ? link.WithQuery(rest) : target.WithQuery(rest);
    }

    /// <summary>
    /// What a smart link answers before any click is counted: the prelaunch redirect or "not live yet" before
    /// <c>startsAt</c>, the preview card to link-preview bots, the password form until the password is given.
    /// Null: go on to the redirect.
    /// </summary>
    private static Task? Gate(HttpContext context, SmartRoute smart, long now, bool unlocked)
    {
        var response = context.Response;
        if (now < smart.StartsAtMs)
        {
            response.Headers.CacheControl = NoStore;
            if (smart.PrelaunchUrl is null)
            {
                return WritePageAsync(context, StatusCodes.Status404NotFound, NotLivePage);
            }

            response.StatusCode = StatusCodes.Status302Found;
            response.Headers.Location = smart.PrelaunchUrl;
            return Task.CompletedTask;
        }

        if (smart.PreviewPage is { } preview && SmartRoute.IsPreviewBot(context.Request.Headers.UserAgent))
        {
            response.Headers.CacheControl = NoStore;
            return WritePageAsync(context, StatusCodes.Status200OK, preview);
        }

        if (smart.PasswordHash is not null && !unlocked)
        {
            response.Headers.CacheControl = NoStore;
            return WritePageAsync(context, StatusCodes.Status200OK, PasswordPage);
        }

        return null;
    }

    /// <summary>
    /// <c>POST /{slug}</c> from the password form: the right password redirects and counts the click; a wrong one
    /// answers the form again with 403. Guesses are limited per link and client address (<see cref="PasswordAttempts"/>),
    /// and every guess costs a slow hash.
    /// </summary>
    public async Task HandlePasswordAsync(HttpContext context)
    {
        // Any other POST to a slug-shaped path (a reserved word, an unknown slug, a link without a password) is
        // answered as it was before this route existed: 405, since the path takes GET and HEAD only.
        var slug = context.Request.Path.Value.AsSpan(1);
        var (lookup, link, onExtraDomain) = SlugRules.IsWellFormed(slug) ? Lookup(context, slug) : (CacheLookup.Missing, null, false);
        if (lookup == CacheLookup.Unknown)
        {
            var name = slug.ToString();
            var extraHost = onExtraDomain ? HostWithoutPort(context.Request.Host.Value).ToString() : null;
            try
            {
                link = (extraHost is null ? null : await cache.LoadAsync(extraHost, name, context.RequestAborted))
                    ?? await cache.LoadAsync(domains.Default, name, context.RequestAborted);
            }
            catch (DbException exception)
            {
                Log.LinkLoadFailed(logger, exception);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                return;
            }
        }

        if (link?.Smart?.PasswordHash is not { } hash)
        {
            context.Response.Headers.Allow = "GET, HEAD";
            await Problems.Result(Problems.MethodNotAllowed, "Only a link with a password takes a POST: its password form.").ExecuteAsync(context);
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await Problems.Result(Problems.UnsupportedMediaType,
                "Send the password as a form field 'password' (application/x-www-form-urlencoded).").ExecuteAsync(context);
            return;
        }

        using var lease = passwordAttempts.TryAcquire(link.Id, context.Connection.RemoteIpAddress, context.Request.Headers["X-Forwarded-For"]);
        if (!lease.IsAcquired)
        {
            context.Response.Headers.RetryAfter = ((int)PasswordAttempts.Window.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WritePageAsync(context, StatusCodes.Status429TooManyRequests, TooManyGuessesPage);
            return;
        }

        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (InvalidDataException exception)
        {
            await Problems.Result(Problems.MalformedRequest, "The form could not be read: " + exception.Message).ExecuteAsync(context);
            return;
        }

        if (!LinkPasswords.Verify(hash, form["password"].ToString()))
        {
            context.Response.Headers.CacheControl = NoStore;
            await WritePageAsync(context, StatusCodes.Status403Forbidden, WrongPasswordPage);
            return;
        }

        await Respond(context, link, unlocked: true);
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
