using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>
/// Failed authentications (malformed, unknown or revoked keys) per client address, as a token bucket each: a
/// failure takes a token, and an address with none left is answered 429 before its key is hashed or looked up, so
/// guessing keys costs Tern almost nothing. Successful calls take no token. The address is the connection's; behind
/// a proxy every client shares the proxy's budget.
/// </summary>
public sealed class FailedAuthentications : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public FailedAuthentications(IOptions<RateLimitOptions> options)
    {
        var settings = options.Value;
        Burst = settings.FailedAuthBurst;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = settings.FailedAuthBurst,
                TokensPerPeriod = settings.FailedAuthPerMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public int Burst { get; }

    public static string AddressOf(HttpContext context) =>
        context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>True when the address has no failure left to spend: its key is not even looked at.</summary>
    public bool IsBlocked(string address) => _limiter.GetStatistics(address)?.CurrentAvailablePermits is 0;

    /// <summary>Takes one token for a failure.</summary>
    public void Record(string address)
    {
        using var _ = _limiter.AttemptAcquire(address);
    }

    /// <summary>Seconds until the address may try again (at least 1).</summary>
    public string RetryAfterSeconds(string address)
    {
        using var lease = _limiter.AttemptAcquire(address, 1);
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
        return Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    public void Dispose() => _limiter.Dispose();
}
