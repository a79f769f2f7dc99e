using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tern.Server.Webhooks;

namespace Tern.Bench.Webhooks;

/// <summary>One delivery as the receiver saw it first.</summary>
internal readonly record struct Receipt(long At, string? Referrer);

/// <summary>
/// Sees every delivery to <c>/hook/{endpoint}</c> (its <c>webhook-id</c>, Stopwatch arrival time and body, which is
/// valid only during the call); the receiver keeps nothing of them itself.
/// </summary>
internal delegate void DeliveryObserver(int endpoint, string webhookId, long at, ReadOnlyMemory<byte> body);

/// <summary>
/// A minimal webhook receiver on Kestrel at 127.0.0.1: answers 204 at once, records when each <c>webhook-id</c>
/// first arrived (and the click's referrer, which the latency run uses to match a delivery to its redirect),
/// and checks every signature the way the README shows, so that the figures are for correct deliveries. With an
/// observer it also serves numbered endpoints, <c>/hook/{endpoint}</c>, each with its own secret, and hands their
/// deliveries to the observer instead of recording them (a soak delivers millions).
/// </summary>
internal sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _readReferrer;
    private readonly bool _hang;
    private readonly DeliveryObserver? _observer;
    private readonly ConcurrentDictionary<int, string> _secrets = new();
    private readonly CancellationTokenSource _stopping = new();
    private long _requests;
    private long _badSignatures;
    private long _lastAt;

    private Receiver(WebApplication app, int port, bool readReferrer, bool hang, DeliveryObserver? observer)
    {
        _app = app;
        Port = port;
        _readReferrer = readReferrer;
        _hang = hang;
        _observer = observer;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook";

    public string? Secret { get; set; }

    /// <summary>The URL of numbered endpoint <paramref name="endpoint"/> (served when the receiver has an observer).</summary>
    public string UrlOf(int endpoint) => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}/hook/{endpoint}");

    public void SetSecret(int endpoint, string secret) => _secrets[endpoint] = secret;

    public ConcurrentDictionary<string, Receipt> Received { get; } = new(StringComparer.Ordinal);

    public long Requests => Interlocked.Read(ref _requests);

    public long BadSignatures => Interlocked.Read(ref _badSignatures);

    /// <summary>Stopwatch timestamp of the latest request.</summary>
    public long LastAt => Interlocked.Read(ref _lastAt);

    /// <summary>With <paramref name="hang"/>, every request is held open until the receiver stops (to park the dispatcher).</summary>
    public static async Task<Receiver> StartAsync(bool readReferrer, bool hang = false, DeliveryObserver? observer = null)
    {
        var port = BenchHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", $"http://127.0.0.1:{port}"] });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app, port, readReferrer, hang, observer);
        app.MapPost("/hook", receiver.HandleAsync);
        if (observer is not null)
        {
            app.MapPost("/hook/{endpoint:int}", receiver.ObserveAsync);
        }

        await app.StartAsync();
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var at = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _requests);
        if (_hang)
        {
            using var held = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, held.Token);
            }
            catch (OperationCanceledException)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return;
            }
        }

        using var buffer = new MemoryStream();
        var id = await ReadAsync(context, buffer, Secret);
        string? referrer = null;
        if (_readReferrer)
        {
            using var json = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
            if (json.RootElement.GetProperty("data").TryGetProperty("click", out var click)
                && click.TryGetProperty("referrer", out var value) && value.ValueKind == JsonValueKind.String)
            {
                referrer = value.GetString();
            }
        }

        Received.TryAdd(id, new Receipt(at, referrer));
        Interlocked.Exchange(ref _lastAt, at);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private async Task ObserveAsync(HttpContext context)
    {
        var at = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _requests);
        var endpoint = int.Parse(context.Request.RouteValues["endpoint"]!.ToString()!, CultureInfo.InvariantCulture);
        using var buffer = new MemoryStream();
        var id = await ReadAsync(context, buffer, _secrets.GetValueOrDefault(endpoint));
        _observer!(endpoint, id, at, buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        Interlocked.Exchange(ref _lastAt, at);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>Reads the body into <paramref name="buffer"/>, counts a bad signature, and returns the <c>webhook-id</c>.</summary>
    private async Task<string> ReadAsync(HttpContext context, MemoryStream buffer, string? secret)
    {
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var id = context.Request.Headers["webhook-id"].ToString();
        var timestamp = long.Parse(context.Request.Headers["webhook-timestamp"].ToString(), CultureInfo.InvariantCulture);
        var signatures = context.Request.Headers["webhook-signature"].ToString().Split(' ');
        if (secret is null || !signatures.Contains(WebhookSignature.Sign(secret, id, timestamp, body), StringComparer.Ordinal))
        {
            Interlocked.Increment(ref _badSignatures);
        }

        return id;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        _stopping.Dispose();
        await _app.DisposeAsync();
    }
}
