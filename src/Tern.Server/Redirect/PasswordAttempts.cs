using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;

namespace Tern.Server.Redirect;

/// <summary>
/// Password guesses per link and client address: <see cref="PerWindow"/> in each <see cref="Window"/>, right or
/// wrong, so a password cannot be guessed faster than that from one address. Idle partitions are dropped by the
/// limiter itself.
/// </summary>
public sealed class PasswordAttempts(IOptions<TernOptions> options) : IDisposable
{
    public const int PerWindow = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly IReadOnlyList<IPNetwork> _trustedProxies = ClientAddress.ParseNetworks(options.Value.TrustedProxies);

    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = PerWindow,
            Window = Window,
            QueueLimit = 0,
        }));

    public RateLimitLease TryAcquire(string linkId, IPAddress? remote, string? forwardedFor) =>
        _limiter.AttemptAcquire($"{linkId}|{ClientAddress.Resolve(remote, forwardedFor, _trustedProxies)}");

    public void Dispose() => _limiter.Dispose();
}
