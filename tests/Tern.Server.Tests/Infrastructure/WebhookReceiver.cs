using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>A request a receiver got: the Standard Webhooks headers and the raw body.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, string Body, DateTimeOffset At);

/// <summary>
/// A real HTTP endpoint on 127.0.0.1 that records what Tern sends it. <see cref="Respond"/> decides each answer
/// (status, headers, or a hang until the request is aborted), so tests can stage outages and slow receivers.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly SemaphoreSlim _arrivals = new(0);

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>How to answer the n-th request (1-based); default 200.</summary>
    public Func<int, ReceivedWebhook, Task<(int Status, string? RetryAfter)>> Respond { get; set; } = (_, _) => Task.FromResult((200, (string?)null));

    public string Url { get; private set; } = "";

    public IReadOnlyList<ReceivedWebhook> Received => [.. _received];

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        var count = 0;
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var webhook = new ReceivedWebhook(
                context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
                context.Request.Headers["webhook-signature"].ToString(), await reader.ReadToEndAsync(), DateTimeOffset.UtcNow);
            var (status, retryAfter) = await receiver.Respond(Interlocked.Increment(ref count), webhook).WaitAsync(context.RequestAborted);
            receiver._received.Enqueue(webhook);
            receiver._arrivals.Release();
            if (retryAfter is not null)
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }

            context.Response.StatusCode = status;
            await context.Response.WriteAsync(status is >= 200 and < 300 ? "thanks" : "not now");
        });
        await app.StartAsync();
        receiver.Url = app.Urls.First() + "/hooks";
        return receiver;
    }

    /// <summary>Waits until at least <paramref name="count"/> requests have been answered.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (_received.Count < count)
        {
            try
            {
                await _arrivals.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Expected {count} webhook requests, got {_received.Count}.");
            }
        }

        return Received;
    }

    /// <summary>Waits until a request that <paramref name="match"/> accepts has been answered, and returns the first such.</summary>
    public async Task<ReceivedWebhook> WaitForAsync(Func<ReceivedWebhook, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Received.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            try
            {
                await _arrivals.WaitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching webhook request among {_received.Count}.");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
