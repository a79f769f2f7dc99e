using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Dashboard;
using Tern.Server.Events;
using Tern.Server.Links;
using Tern.Server.Redirect;
using Tern.Server.Storage;
using Tern.Server.Webhooks;

namespace Tern.Server.Hosting;

/// <summary>Composes Tern: each domain registers its services in <see cref="AddTern"/>, its endpoints in <see cref="MapTern"/>.</summary>
public static class TernApplication
{
    public static WebApplicationBuilder AddTern(this WebApplicationBuilder builder)
    {
        builder.AddTernHost();
        builder.AddTelemetry();

        // Storage first: hosted services start in registration order, and everything after needs the schema.
        builder.Services.AddTernStorage()
            .AddAccess()
            .AddLinks()
            .AddRedirects()
            .AddClicks()
            .AddWebhooks()
            .AddEvents()
            .AddHosting()
            .AddProblems()
            .AddJson()
            .AddApiDocument()
            .AddDashboard();
        return builder;
    }

    public static WebApplication MapTern(this WebApplication app)
    {
        app.UseCachedRedirects();
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        // Kestrel enforces the limit on every body; declared lengths are refused up front, on any server.
        var maxBody = app.Services.GetRequiredService<IOptions<TernOptions>>().Value.MaxRequestBodyBytes;
        app.Use((context, next) => context.Request.ContentLength > maxBody
            ? WriteProblemAsync(context, Problems.PayloadTooLarge, $"The body is {context.Request.ContentLength} bytes; the limit is {maxBody}.")
            : next(context));

        // Routing is placed explicitly after the redirect fast path; left implicit, WebApplication would put it first
        // and every cached redirect would pay for route matching it does not use.
        app.UseRouting();
        app.UseAuthentication();
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api =>
        {
            var limiter = app.Services.GetRequiredService<ApiRateLimiter>();
            var idempotency = app.Services.GetRequiredService<IdempotencyKeys>();
            api.Use(RequestCharset.InvokeAsync);
            api.Use(NulInRequest.InvokeAsync);
            api.Use((context, next) => limiter.InvokeAsync(context, next));
            api.UseAuthorization();
            api.Use((context, next) => idempotency.InvokeAsync(context, next));
        });
        app.UseAuthorization();
        app.UseDashboard();

        _ = app.Services.GetRequiredService<TernMetrics>();
        _ = app.Services.GetRequiredService<WebhookMetrics>();

        // "/api" itself (also what "/api/v1/.." normalises to) is no link: a problem, not the redirect's 404 page.
        app.Map("/api", (HttpContext context) => WriteProblemAsync(context, Problems.NotFound, "Nothing is served at /api; the API is under /api/v1."))
            .ExcludeFromDescription();
        var api = app.MapGroup("/api/v1");
        api.MapAccess();
        api.MapLinks();
        api.MapAnalytics();
        api.MapEvents();
        api.MapWebhooks();
        api.MapBackup();

        app.MapHealth();
        app.MapProblemDocs();
        app.MapTelemetry();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/docs", options => options
            .WithTitle("Tern API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json"));

        if (app.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.Enabled)
        {
            app.MapDashboard();
        }

        // Last: the catch-all /{slug}; see RedirectEndpoint.MapRedirects for why the order matters.
        app.MapRedirects();
        return app;
    }

    /// <summary>Tern's own settings, the clock, logging filters and Kestrel.</summary>
    private static void AddTernHost(this WebApplicationBuilder builder)
    {
        builder.AddSettingsBesideTheBinary();
        var services = builder.Services;
        services.AddOptions<TernOptions>().BindConfiguration(TernOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        builder.AddTernDataProtection();
        // Data protection logs its key ring's housekeeping at information level; only its errors matter to an operator.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // Per-request hosting diagnostics (a log scope and an Activity on every redirect) cost more than the redirect;
        // set here rather than in appsettings.json so it holds whatever folder the server is started from.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<TernOptions>>((kestrel, tern) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = tern.Value.MaxRequestBodyBytes;
        });
    }

    /// <summary>
    /// The content root is the working directory, so that <c>./data</c> means the folder the server was started in; the
    /// settings shipped with the binary are read from beside it, under everything else (a file in the working directory,
    /// the environment, the command line). Below them all, quiet defaults: no information line per request.
    /// </summary>
    private static void AddSettingsBesideTheBinary(this WebApplicationBuilder builder)
    {
        var sources = builder.Configuration.Sources;
        sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            },
        });
        var binary = Path.GetFullPath(AppContext.BaseDirectory);
        if (!Path.GetFullPath(builder.Environment.ContentRootPath).TrimEnd('/').Equals(binary.TrimEnd('/'), StringComparison.Ordinal))
        {
            var files = new PhysicalFileProvider(binary);
            sources.Insert(1, new JsonConfigurationSource { FileProvider = files, Path = "appsettings.json", Optional = true });
            sources.Insert(2, new JsonConfigurationSource
            {
                FileProvider = files,
                Path = $"appsettings.{builder.Environment.EnvironmentName}.json",
                Optional = true,
            });
        }
    }

    /// <summary>What serves every room: Idempotency-Key replay, the periodic housekeeping, metrics and the health probes.</summary>
    private static IServiceCollection AddHosting(this IServiceCollection services)
    {
        services.AddOptions<MaintenanceOptions>().BindConfiguration(MaintenanceOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IdempotencyKeys>();
        services.AddClusterJob<MaintenanceService>();
        services.AddSingleton<TernMetrics>();
        services.AddHealth();
        return services;
    }

    /// <summary>Errors as problem details, with Tern's problem types also for bare status codes from routing and the framework (404, 405, 415, …).</summary>
    private static IServiceCollection AddProblems(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                var kind = Problems.ForStatus(problem.Status ?? context.HttpContext.Response.StatusCode);
                problem.Type = kind.Type;
                problem.Title = kind.Title;
                problem.Detail ??= kind.Description;
            }
        });
        services.AddExceptionHandler<TernExceptionHandler>();
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    /// <summary>
    /// JSON through the source-generated contracts, instants in UTC; numbers and booleans are read also from JSON strings
    /// (<c>"maxClicks": "100"</c>), as no-code tools send them, and always written as JSON numbers and booleans.
    /// </summary>
    private static IServiceCollection AddJson(this IServiceCollection services) =>
        services.Configure<JsonOptions>(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, TernJsonContext.Default);
            options.SerializerOptions.Converters.Add(new UtcTimestampConverter());
            options.SerializerOptions.Converters.Add(new LenientBooleanConverter());
            options.SerializerOptions.Converters.Add(new NulFreeStringConverter());
            options.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowReadingFromString;
        });

    private static Task WriteProblemAsync(HttpContext context, ProblemKind kind, string detail)
    {
        context.Response.StatusCode = kind.Status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = kind.ToProblem(detail) }).AsTask();
    }
}
