using Tern.Client;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Client;

/// <summary>Each test meets a fresh rate limiter that lets one request a second through.</summary>
public sealed class RetryTests : IAsyncLifetime
{
    private readonly RateLimitedTern _tern = new();

    public ValueTask InitializeAsync() => _tern.InitializeAsync();

    public ValueTask DisposeAsync() => _tern.DisposeAsync();

    [Fact]
    public async Task RetriesA429AfterTheDelayItsRetryAfterAsksAndSucceeds()
    {
        var (client, recorder, services) = TernClients.For(_tern);
        await using var _ = services;

        await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/first" }, TestContext.Current.CancellationToken);
        var second = await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/second" }, TestContext.Current.CancellationToken);

        // The bucket refills on its own timer, so a retry right at Retry-After may meet one more 429; each must wait again.
        var attempts = recorder.Attempts.ToList();
        Assert.Equal(201, attempts[0].Status);
        Assert.Equal(201, attempts[^1].Status);
        Assert.InRange(attempts.Count, 3, 5);
        Assert.All(attempts[1..^1], a => Assert.Equal(429, a.Status));
        for (var i = 1; i < attempts.Count - 1; i++)
        {
            var limited = attempts[i];
            Assert.NotNull(limited.RetryAfter);
            Assert.True(attempts[i + 1].SentAt - limited.AnsweredAt >= limited.RetryAfter.Value - TimeSpan.FromMilliseconds(50),
                $"retried after {(attempts[i + 1].SentAt - limited.AnsweredAt).TotalMilliseconds} ms; Retry-After asked {limited.RetryAfter}");
        }

        Assert.Equal("https://example.com/second", second.Url);
    }

    [Fact]
    public async Task SendsTheSameIdempotencyKeyOnEveryAttemptOfARetriedPost()
    {
        var (client, recorder, services) = TernClients.For(_tern);
        await using var _ = services;

        await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/one" }, TestContext.Current.CancellationToken);
        await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/two" }, TestContext.Current.CancellationToken);

        var attempts = recorder.Attempts.ToList();
        Assert.All(attempts, a => Assert.False(string.IsNullOrEmpty(a.IdempotencyKey)));
        Assert.True(attempts.Count >= 3);
        Assert.All(attempts[1..], a => Assert.Equal(attempts[1].IdempotencyKey, a.IdempotencyKey));
        Assert.NotEqual(attempts[0].IdempotencyKey, attempts[1].IdempotencyKey);
    }

    [Fact]
    public async Task GivesUpWithTheRateLimitProblemWhenRetriesAreOff()
    {
        var (client, _, services) = TernClients.For(_tern, configure: o => o.MaxRetries = 0);
        await using var _ = services;
        await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/first" }, TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<TernApiException>(() =>
            client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/second" }, TestContext.Current.CancellationToken));

        Assert.Equal(429, error.StatusCode);
        Assert.Equal(429, error.Problem.Status);
        Assert.NotNull(error.RetryAfter);
    }
}
