using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Dashboard;

/// <summary>
/// The web dashboard at <c>/dashboard</c>: Blazor components rendered on the server per request (no circuits, no
/// server-held UI state, so any node answers any request), signed in by a cookie bound to an API key.
/// </summary>
public static class DashboardServices
{
    public const string Policy = "dashboard";

    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddRazorComponents();
        services.AddAuthentication()
            .AddCookie(DashboardSession.Scheme, options =>
            {
                options.Cookie.Name = "tern_dashboard";
                options.Cookie.Path = "/dashboard";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromHours(8);
                options.SlidingExpiration = true;
                options.LoginPath = "/dashboard/sign-in";
                options.AccessDeniedPath = "/dashboard/sign-in";
                options.Events.OnValidatePrincipal = DashboardSession.ValidateAsync;
            });
        services.AddAuthorization(options => options.AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(DashboardSession.Scheme).RequireAuthenticatedUser()));
        return services;
    }

    /// <summary>Dashboard responses forbid inline script, framing and other origins; forms carry antiforgery tokens.</summary>
    public static WebApplication UseDashboard(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/dashboard"), dashboard => dashboard.Use((context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy =
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            return next(context);
        }));
        app.UseAntiforgery();

        // A part of a campaign import sent again after a lost answer replays the first answer rather than creating its rows twice.
        var idempotency = app.Services.GetRequiredService<IdempotencyKeys>();
        app.UseWhen(context => context.Request.Path.Equals(CampaignImport.Path, StringComparison.OrdinalIgnoreCase),
            part => part.Use((context, next) => idempotency.InvokeAsync(context, next)));
        return app;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.MapGet("/dashboard/assets/{name}", DashboardAssets.Serve).ExcludeFromDescription();

        var session = app.MapGroup("/dashboard").RequireAuthorization(Policy).ExcludeFromDescription();
        session.MapPost("/sign-out", SignOut);
        session.MapGet("/links/{id}/clicks.csv", ExportClicks);
        session.MapGet("/preview", Preview);

        app.MapPost(CampaignImport.Path, CampaignImport.CreatePart).RequireAuthorization(Policy).ExcludeFromDescription();

        app.MapRazorComponents<App>().RequireAuthorization(Policy);
        return app;
    }

    private static async Task<IResult> SignOut(HttpContext context, [FromForm(Name = "confirm")] string? confirm)
    {
        await context.SignOutAsync(DashboardSession.Scheme);
        return Results.Redirect("/dashboard/sign-in?signedOut=true");
    }

    /// <summary>A link's raw clicks as CSV, through the API's own export.</summary>
    private static async Task<IResult> ExportClicks(string id, HttpContext context, ClaimsPrincipal user, ClickStore clicks, LinkStore links,
        CancellationToken cancellationToken)
    {
        if (!DashboardSession.Has(user, Scopes.AnalyticsRead) || await links.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is null)
        {
            return Results.NotFound();
        }

        return await AnalyticsEndpoints.ListClicks(context, user, clicks, cancellationToken, linkId: id, format: "csv");
    }

    /// <summary>The final destination of a link being edited: the server's own UTM merge, so the preview cannot drift.</summary>
    private static IResult Preview(string? url, string? source, string? medium, string? campaign, string? term, string? content)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            return Results.Text("");
        }

        return Results.Text(UtmMerge.Apply(url.Trim(), new UtmParameters
        {
            Source = Blank(source),
            Medium = Blank(medium),
            Campaign = Blank(campaign),
            Term = Blank(term),
            Content = Blank(content),
        }));
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
