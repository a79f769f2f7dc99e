using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>
/// A token bucket per API key (System.Threading.RateLimiting, the engine of ASP.NET Core's rate limiter),
/// answering with <c>RateLimit-Limit</c>/<c>RateLimit-Remaining</c> on every call and 429 with
/// <c>Retry-After</c> when the bucket is empty. Runs after authentication, so it partitions by key id.
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly RateLimitOptions _options;

    public ApiRateLimiter(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(keyId => RateLimitPartition.GetTokenBucketLimiter(keyId,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = _options.Burst,
                TokensPerPeriod = _options.PerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var keyId = context.User.FindFirst(TernClaims.KeyId)?.Value;
        if (!_options.Enabled || keyId is null)
        {
            await next(context);
            return;
        }

        using var lease = _limiter.AttemptAcquire(keyId);
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = _options.Burst.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = (_limiter.GetStatistics(keyId)?.CurrentAvailablePermits ?? 0).ToString(CultureInfo.InvariantCulture);
        if (lease.IsAcquired)
        {
            await next(context);
            return;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = headers.RetryAfter;
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = Problems.RateLimited.ToProblem(
                $"This key may make {_options.PerSecond} requests per second with bursts of {_options.Burst}; retry in {seconds} s."),
        });
    }

    public void Dispose() => _limiter.Dispose();
}
