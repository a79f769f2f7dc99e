using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Tern.Client;

public static class TernClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="TernClient"/> as a typed client of <c>IHttpClientFactory</c>: the key as a bearer token,
    /// an Idempotency-Key on every POST, and retries with exponential backoff on 429, 502, 503, 504 and network
    /// failures that wait what a Retry-After header asks.
    /// </summary>
    public static IHttpClientBuilder AddTernClient(this IServiceCollection services, Action<TernClientOptions> configure)
    {
        services.AddOptions<TernClientOptions>().Configure(configure)
            .Validate(o => o.BaseUrl is { IsAbsoluteUri: true }, "Tern: BaseUrl must be an absolute URL.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.ApiKey), "Tern: ApiKey is required.");
        services.AddTransient<IdempotencyKeyHandler>();

        var builder = services.AddHttpClient<TernClient>((provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<TernClientOptions>>().Value;
            http.BaseAddress = options.BaseUrl;
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
            http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Tern.Client", typeof(TernClient).Assembly.GetName().Version?.ToString(3)));
            // Attempts carry their own timeout below; a long stream of events must not be cut by a client-wide one.
            http.Timeout = Timeout.InfiniteTimeSpan;
        });

        // Outside the retry handler, so that every attempt of one call sends the same key.
        builder.AddHttpMessageHandler<IdempotencyKeyHandler>();
        builder.AddResilienceHandler("tern", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<TernClientOptions>>().Value;
            if (options.MaxRetries > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    Delay = options.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args => ValueTask.FromResult(IsRetryable(args.Outcome)),
                });
            }

            pipeline.AddTimeout(options.AttemptTimeout);
        });
        return builder;
    }

    private static bool IsRetryable(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Result.StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout } => true,
        { Exception: HttpRequestException or Polly.Timeout.TimeoutRejectedException } => true,
        _ => false,
    };
}
