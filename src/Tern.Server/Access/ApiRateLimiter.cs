using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>
/// A token bucket per API key (System.Threading.RateLimiting, the engine of ASP.NET Core's rate limiter): the key's
/// own <c>rateLimit</c> when it was created with one, else <c>Tern:RateLimit</c>. Every call is answered with
/// <c>RateLimit-Limit</c> (the burst), <c>RateLimit-Remaining</c> and <c>RateLimit-Reset</c> (seconds until the bucket
/// is full again), and an empty bucket with 429 and <c>Retry-After</c>. Runs after authentication, so it partitions
/// by key id (with the key's own budget in the partition, so the factory can read it).
/// </summary>
public sealed class ApiRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly RateLimitOptions _options;

    public ApiRateLimiter(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(partition => RateLimitPartition.GetTokenBucketLimiter(partition,
            p =>
            {
                var (perSecond, burst) = BudgetOf(p);
                return new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                };
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

        var own = context.User.FindFirst(TernClaims.RateLimit)?.Value;
        var partition = own is null ? keyId : $"{keyId}|{own}";
        var (perSecond, burst) = BudgetOf(partition);
        using var lease = _limiter.AttemptAcquire(partition);
        var remaining = _limiter.GetStatistics(partition)?.CurrentAvailablePermits ?? 0;
        var headers = context.Response.Headers;
        headers["RateLimit-Limit"] = burst.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = ((int)Math.Ceiling((double)(burst - remaining) / perSecond)).ToString(CultureInfo.InvariantCulture);
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
                $"This key may make {perSecond} requests per second with bursts of {burst}; retry in {seconds} s."),
        });
    }

    /// <summary>The budget a partition stands for: <c>keyId|perSecond/burst</c> for a key's own, else the server's.</summary>
    private (int PerSecond, int Burst) BudgetOf(string partition)
    {
        var bar = partition.IndexOf('|', StringComparison.Ordinal);
        if (bar >= 0)
        {
            var own = partition.AsSpan(bar + 1);
            var slash = own.IndexOf('/');
            if (slash > 0 && int.TryParse(own[..slash], CultureInfo.InvariantCulture, out var perSecond)
                && int.TryParse(own[(slash + 1)..], CultureInfo.InvariantCulture, out var burst))
            {
                return (perSecond, burst);
            }
        }

        return (_options.PerSecond, _options.Burst);
    }

    public void Dispose() => _limiter.Dispose();
}
