using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// OpenTelemetry metrics (HTTP server and client, the runtime, the database driver, Tern's own meter), turned on by
/// <c>Tern:Telemetry:Prometheus</c> (serves <c>GET /metrics</c>) or by the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// variables (OTLP export of the metrics and of traces: HTTP requests, webhook sends, PostgreSQL statements). With
/// neither, nothing is registered: no listener, so the redirect path creates no activity and no instrument is read.
/// </summary>
internal static class Telemetry
{
    private static readonly string[] OtlpVariables =
        ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    /// <summary>
    /// <c>Tern:Telemetry:RedirectDurations</c>: whether redirects served from the cache are recorded in ASP.NET Core's
    /// <c>http.server.request.duration</c> too. Off by default: that histogram costs a redirect about as much as the
    /// rest of its work in the server, and redirects are already counted in <c>tern.redirects</c>.
    /// </summary>
    public const string RedirectDurationsKey = "Tern:Telemetry:RedirectDurations";

    /// <summary>True when metrics are collected (Prometheus or OTLP).</summary>
    public static bool IsOn(IConfiguration configuration) => configuration.GetValue<bool>("Tern:Telemetry:Prometheus") || Otlp(configuration);

    /// <summary>True when one of the standard OTLP endpoint variables is set.</summary>
    private static bool Otlp(IConfiguration configuration) => OtlpVariables.Any(name => !string.IsNullOrEmpty(configuration[name]));

    /// <summary>True when cached redirects leave ASP.NET Core's request-duration histogram out.</summary>
    public static bool QuietRedirects(IConfiguration configuration) => IsOn(configuration) && !configuration.GetValue<bool>(RedirectDurationsKey);

    public static void AddTelemetry(this WebApplicationBuilder builder)
    {
        var prometheus = builder.Configuration.GetValue<bool>("Tern:Telemetry:Prometheus");
        if (!IsOn(builder.Configuration))
        {
            return;
        }

        var otlp = Otlp(builder.Configuration);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("tern"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(TernMetrics.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddStorageInstrumentation();
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (otlp)
        {
            // Traces only where they go somewhere: without an exporter every request would still pay for its Activity.
            telemetry.WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddStorageInstrumentation())
                .UseOtlpExporter();
        }
    }

    /// <summary>Maps <c>GET /metrics</c> when Prometheus is on; "metrics" is a reserved slug either way.</summary>
    public static void MapTelemetry(this WebApplication app)
    {
        if (app.Configuration.GetValue<bool>("Tern:Telemetry:Prometheus"))
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }
}
