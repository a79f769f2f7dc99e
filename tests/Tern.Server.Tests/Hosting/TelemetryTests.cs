using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Tern.Server.Clicks;
using Tern.Server.Redirect;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Hosting;

public sealed class PrometheusTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Telemetry:Prometheus", "true")];
}

public sealed class PrometheusTelemetryTests(PrometheusTern tern) : IClassFixture<PrometheusTern>
{
    [Fact]
    public async Task MetricsServesTernsOwnInstrumentsInPrometheusTextWhenTurnedOn()
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/measured", slug = UniqueSlug() });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        // The exporter answers a scrape from its last one for a moment, so a scrape may not hold the redirect yet.
        var counted = new Regex(@"^tern_redirects_total(\{[^}]*\})? [1-9]", RegexOptions.Multiline);
        HttpResponseMessage response;
        string text;
        for (var attempt = 1; ; attempt++)
        {
            response = await tern.Visitor().GetAsync("/metrics");
            text = await response.Content.ReadAsStringAsync();
            if (counted.IsMatch(text) || attempt == 100)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches(counted, text);
        Assert.Contains("tern_clicks_queue_depth", text, StringComparison.Ordinal);
        Assert.Contains("tern_clicks_writer_lag", text, StringComparison.Ordinal);
        Assert.Contains("tern_link_cache_entries", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration_seconds", text, StringComparison.Ordinal);
        Assert.Matches(new Regex(@"^tern_storage_writer_turns_total\{[^}]*kind=""foreground""\} [1-9]", RegexOptions.Multiline), text);
        Assert.Matches(new Regex(@"^tern_storage_writer_wait_time_seconds_total\{[^}]*kind=""background""\}", RegexOptions.Multiline), text);
        Assert.Matches(new Regex(@"^tern_storage_writer_busy_time_seconds_total\{[^}]*kind=""clicks""\} [0-9.eE+-]+$", RegexOptions.Multiline), text);
    }

    [Fact]
    public async Task CachedRedirectsAreCountedButLeftOutOfTheRequestDurationHistogram()
    {
        // Checked on the request's own feature: the histogram itself also hears other hosts of this test process.
        Assert.True(await RedirectDurationsTests.ServeCachedAsync(tern));
    }
}

public sealed class RedirectDurationsTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Tern:Telemetry:Prometheus", "true"), new("Tern:Telemetry:RedirectDurations", "true")];
}

public sealed class RedirectDurationsTests(RedirectDurationsTern tern) : IClassFixture<RedirectDurationsTern>
{
    [Fact]
    public async Task CachedRedirectsAreInTheRequestDurationHistogramWhenAskedFor()
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/timed", slug = UniqueSlug() });
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        }

        Assert.True(CachedRedirectsIn(await tern.Visitor().GetStringAsync("/metrics")) >= 5);
        Assert.False(await ServeCachedAsync(tern));
    }

    /// <summary>Serves a cached redirect on a context of its own and says whether it left the duration histogram out.</summary>
    internal static async Task<bool> ServeCachedAsync(TernFactory tern)
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/feature", slug = UniqueSlug() });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        var metrics = new MetricsTags();
        var context = new DefaultHttpContext { RequestServices = tern.Services };
        context.Features.Set<IHttpMetricsTagsFeature>(metrics);
        context.Request.Method = HttpMethods.Get;
        context.Request.Host = new HostString("go.test");
        context.Request.Path = "/" + link.Slug;

        var served = tern.Get<Redirector>().TryServeCached(context);

        Assert.NotNull(served);
        await served;
        Assert.Equal(StatusCodes.Status302Found, context.Response.StatusCode);
        return metrics.MetricsDisabled;
    }

    private sealed class MetricsTags : IHttpMetricsTagsFeature
    {
        public ICollection<KeyValuePair<string, object?>> Tags { get; } = [];

        public bool MetricsDisabled { get; set; }
    }

    /// <summary>Requests answered 302 without a route (the cached fast path) in the request-duration histogram.</summary>
    internal static long CachedRedirectsIn(string prometheusText) =>
        Regex.Matches(prometheusText, @"^http_server_request_duration_seconds_count\{([^}]*)\} (\d+)", RegexOptions.Multiline)
            .Where(m => m.Groups[1].Value.Contains("http_response_status_code=\"302\"", StringComparison.Ordinal)
                && !m.Groups[1].Value.Contains("http_route=", StringComparison.Ordinal))
            .Sum(m => long.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
}

public sealed class TelemetryOffTests(TernFactory tern) : IClassFixture<TernFactory>
{
    [Fact]
    public async Task MetricsIsNotServedByDefault()
    {
        var response = await tern.Visitor().GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

/// <summary>The standard OpenTelemetry variables send traces and metrics to an OTLP/HTTP receiver hosted here.</summary>
public sealed class OtlpExportTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("tern-otlp-").FullName;

    [Fact]
    public async Task TheOtlpEndpointVariableExportsTracesAndTernsMetricsOverHttpProtobuf()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var tern = await TernProcess.StartAsync(_dataDir, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        using var visitor = new HttpClient { BaseAddress = new Uri(tern.BaseUrl) };
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync("/healthz")).StatusCode);

        var metrics = await receiver.WaitForAsync("/v1/metrics", body => body.Contains("tern.clicks.queue_depth", StringComparison.Ordinal));
        var traces = await receiver.WaitForAsync("/v1/traces", body => body.Contains("/healthz", StringComparison.Ordinal));

        Assert.Equal("application/x-protobuf", metrics.ContentType);
        Assert.Equal("application/x-protobuf", traces.ContentType);
        Assert.Contains("tern.redirects", metrics.Body, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Left behind if the server still holds a file.
        }
    }

    /// <summary>An OTLP/HTTP endpoint: keeps what is posted to /v1/traces and /v1/metrics and answers 200.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<(string Path, string? ContentType, string Body)> _received = new();
        private readonly SemaphoreSlim _arrivals = new(0);

        private OtlpReceiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.MapPost("/v1/{signal}", async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                // Protobuf keeps strings as UTF-8 bytes, so names and attribute values can be found in the raw body.
                receiver._received.Enqueue((context.Request.Path.Value!, context.Request.ContentType, Encoding.UTF8.GetString(body.ToArray())));
                receiver._arrivals.Release();
                return Results.Ok();
            });
            await app.StartAsync();
            receiver.Url = app.Urls.First();
            return receiver;
        }

        public async Task<(string Path, string? ContentType, string Body)> WaitForAsync(string path, Func<string, bool> match)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (true)
            {
                var found = _received.FirstOrDefault(r => r.Path == path && match(r.Body));
                if (found.Path is not null)
                {
                    return found;
                }

                await _arrivals.WaitAsync(timeout.Token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
