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
/// A minimal webhook receiver on Kestrel at 127.0.0.1: answers 204 at once, records when each <c>webhook-id</c>
/// first arrived (and the click's referrer, which the latency run uses to match a delivery to its redirect),
/// and checks every signature the way the README shows, so that the figures are for correct deliveries.
/// </summary>
internal sealed class Receiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _readReferrer;
    private readonly bool _hang;
    private readonly CancellationTokenSource _stopping = new();
    private long _requests;
    private long _badSignatures;
    private long _lastAt;

    private Receiver(WebApplication app, int port, bool readReferrer, bool hang)
    {
        _app = app;
        Port = port;
        _readReferrer = readReferrer;
        _hang = hang;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}/hook";

    public string? Secret { get; set; }

    public ConcurrentDictionary<string, Receipt> Received { get; } = new(StringComparer.Ordinal);

    public long Requests => Interlocked.Read(ref _requests);

    public long BadSignatures => Interlocked.Read(ref _badSignatures);

    /// <summary>Stopwatch timestamp of the latest request.</summary>
    public long LastAt => Interlocked.Read(ref _lastAt);

    /// <summary>With <paramref name="hang"/>, every request is held open until the receiver stops (to park the dispatcher).</summary>
    public static async Task<Receiver> StartAsync(bool readReferrer, bool hang = false)
    {
        var port = BenchHost.FreePort();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--urls", $"http://127.0.0.1:{port}"] });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new Receiver(app, port, readReferrer, hang);
        app.MapPost("/hook", receiver.HandleAsync);
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
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var id = context.Request.Headers["webhook-id"].ToString();
        var timestamp = long.Parse(context.Request.Headers["webhook-timestamp"].ToString(), CultureInfo.InvariantCulture);
        var signatures = context.Request.Headers["webhook-signature"].ToString().Split(' ');
        if (Secret is null || !signatures.Contains(WebhookSignature.Sign(Secret, id, timestamp, body), StringComparer.Ordinal))
        {
            Interlocked.Increment(ref _badSignatures);
        }

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

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        _stopping.Dispose();
        await _app.DisposeAsync();
    }
}
