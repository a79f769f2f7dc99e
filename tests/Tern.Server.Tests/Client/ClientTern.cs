using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Tern.Client;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Client;

/// <summary>One attempt as it left the retry handler: its status, Retry-After, Idempotency-Key and when it ended.</summary>
public sealed record Attempt(string Method, int Status, TimeSpan? RetryAfter, string? IdempotencyKey, TimeSpan SentAt, TimeSpan AnsweredAt);

/// <summary>Sits under the retry handler and records every attempt, so tests see what the client really sent.</summary>
public sealed class AttemptRecorder : DelegatingHandler
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ConcurrentQueue<Attempt> Attempts { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var sentAt = _clock.Elapsed;
        var response = await base.SendAsync(request, cancellationToken);
        Attempts.Enqueue(new Attempt(request.Method.Method, (int)response.StatusCode, response.Headers.RetryAfter?.Delta,
            request.Headers.TryGetValues(IdempotencyKeyHandler.Header, out var keys) ? keys.Single() : null, sentAt, _clock.Elapsed));
        return response;
    }
}

public static class TernClients
{
    /// <summary>A <see cref="TernClient"/> registered as users register it, talking to the in-process server.</summary>
    public static (TernClient Client, AttemptRecorder Attempts, ServiceProvider Services) For(
        TernFactory tern, string key = TernFactory.AdminKey, Action<TernClientOptions>? configure = null)
    {
        var recorder = new AttemptRecorder();
        var services = new ServiceCollection();
        services.AddTernClient(o =>
            {
                o.BaseUrl = new Uri(TernFactory.BaseUrl);
                o.ApiKey = key;
                o.RetryDelay = TimeSpan.FromMilliseconds(50);
                configure?.Invoke(o);
            })
            .AddHttpMessageHandler(() => recorder)
            .ConfigurePrimaryHttpMessageHandler(() => tern.Server.CreateHandler());
        var provider = services.BuildServiceProvider();
        return (provider.GetRequiredService<TernClient>(), recorder, provider);
    }
}

/// <summary>Tern with a key allowed one request a second, to meet the rate limiter.</summary>
public sealed class RateLimitedTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:RateLimit:Burst", "1"),
        new("Tern:RateLimit:PerSecond", "1"),
    ];
}
