using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;

namespace Tern.Server.Webhooks;

/// <summary>
/// Keeps webhook requests from being turned against Tern's own network. A URL is checked when it is registered
/// (<see cref="CheckUrl"/>, no DNS), and every connection is checked again after its one DNS lookup, against the
/// addresses actually dialled (<see cref="CreateHandler"/>), so a name that later resolves inward gets nowhere.
/// </summary>
public static class SsrfGuard
{
    public const int MaxUrlLength = 2048;
    public const string AllowPrivateNetworksKey = "Tern:Webhooks:AllowPrivateNetworks";

    private static readonly IPNetwork[] ForbiddenIPv4 =
    [
        IPNetwork.Parse("0.0.0.0/8"),        // "this network", 0.0.0.0 reaches the host itself
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),    // carrier-grade NAT
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),   // link-local, home of cloud metadata endpoints
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),     // IETF protocol assignments
        IPNetwork.Parse("192.0.2.0/24"),     // documentation
        IPNetwork.Parse("192.88.99.0/24"),   // retired 6to4 relay anycast
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),    // benchmarking
        IPNetwork.Parse("198.51.100.0/24"),  // documentation
        IPNetwork.Parse("203.0.113.0/24"),   // documentation
        IPNetwork.Parse("224.0.0.0/4"),      // multicast
        IPNetwork.Parse("240.0.0.0/4"),      // reserved, and 255.255.255.255 broadcast
    ];

    // Only 2000::/3 is handed out as global unicast; everything outside it (loopback, ULA fc00::/7, link-local
    // fe80::/10, site-local fec0::/10, multicast ff00::/8, discard 100::/64, unassigned space) is refused whole.
    private static readonly IPNetwork GlobalUnicast = IPNetwork.Parse("2000::/3");

    private static readonly IPNetwork[] ForbiddenGlobalIPv6 =
    [
        IPNetwork.Parse("2001::/32"),        // Teredo: the IPv4 end is obfuscated, so it cannot be checked
        IPNetwork.Parse("2001:2::/48"),      // benchmarking
        IPNetwork.Parse("2001:10::/28"),     // ORCHID
        IPNetwork.Parse("2001:20::/28"),     // ORCHIDv2
        IPNetwork.Parse("2001:db8::/32"),    // documentation
        IPNetwork.Parse("3fff::/20"),        // documentation
    ];

    private static readonly IPNetwork IPv4Compatible = IPNetwork.Parse("::/96");
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    // Local-use NAT64 may place the IPv4 address at several prefix lengths, so it cannot be read back reliably.
    private static readonly IPNetwork LocalNat64 = IPNetwork.Parse("64:ff9b:1::/48");

    private static readonly SearchValues<char> AuthorityEnd = SearchValues.Create("/?#\\");

    private static readonly string[] PrivateNameSuffixes = ["localhost", "internal", "local", "home.arpa"];

    /// <summary>
    /// True for any address a webhook must not reach: loopback, unspecified, private, link-local, CGNAT, multicast,
    /// broadcast, reserved and documentation ranges, and IPv6 forms that embed such an IPv4 address
    /// (IPv4-mapped, IPv4-compatible, NAT64, 6to4) or hide one (Teredo, local-use NAT64).
    /// </summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IsForbiddenIPv4(address);
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return true;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return IsForbiddenIPv4(address.MapToIPv4());
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        if (IPv4Compatible.Contains(address) || Nat64.Contains(address))
        {
            // :: and ::1 land here too, as 0.0.0.0 and 0.0.0.1.
            return IsForbiddenIPv4(new IPAddress(bytes[12..]));
        }

        if (SixToFour.Contains(address))
        {
            return IsForbiddenIPv4(new IPAddress(bytes[2..6]));
        }

        return LocalNat64.Contains(address) || !GlobalUnicast.Contains(address) || IsInAny(address, ForbiddenGlobalIPv6);
    }

    /// <summary>
    /// Null when <paramref name="url"/> may be registered as a webhook, else why not: an absolute http or https URL
    /// of at most <see cref="MaxUrlLength"/> characters, with a host and no user-info. Unless
    /// <paramref name="allowPrivateNetworks"/>, a literal forbidden address and the host names <c>localhost</c>,
    /// <c>*.localhost</c>, <c>*.internal</c>, <c>*.local</c> and <c>*.home.arpa</c> are refused too. Host names are
    /// not resolved here; <see cref="CreateHandler"/> checks what they resolve to on every connection.
    /// </summary>
    public static string? CheckUrl(string? url, bool allowPrivateNetworks, AllowedHosts? allowedHosts = null)
    {
        if (string.IsNullOrEmpty(url))
        {
            return "url is required.";
        }

        if (url.Length > MaxUrlLength)
        {
            return $"url must be at most {MaxUrlLength} characters long.";
        }

        if (url.AsSpan().Trim().Length != url.Length)
        {
            return "url must not begin or end with white space.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "url must be an absolute http or https URL.";
        }

        if (uri.UserInfo.Length > 0 || HasUserInfo(url))
        {
            return "url must not hold a user name or password.";
        }

        if (uri.IdnHost.Length == 0)
        {
            return "url must name a host.";
        }

        if (NonCanonicalHost(url, uri) is { } nonCanonical)
        {
            return nonCanonical;
        }

        if (allowPrivateNetworks || allowedHosts?.AllowsName(uri.IdnHost) == true)
        {
            return null;
        }

        if (uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            // Host drops an IPv6 scope (fe80::1%eth0) that IdnHost keeps percent-encoded.
            return !IPAddress.TryParse(uri.Host.AsSpan().Trim("[]"), out var address)
                || (IsForbidden(address) && allowedHosts?.AllowsAddress(address) != true)
                ? $"url points at {address}, a loopback, private, link-local or reserved address, which webhooks may not call " +
                  $"(unless {AllowPrivateNetworksKey} is true or {AllowedHosts.ConfigKey} lists it)."
                : null;
        }

        var host = uri.IdnHost.TrimEnd('.');
        foreach (var suffix in PrivateNameSuffixes)
        {
            if (host.Equals(suffix, StringComparison.OrdinalIgnoreCase)
                || (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && host[^(suffix.Length + 1)] == '.'))
            {
                return $"url names the host '{host}', which belongs to a local network; webhooks may not call it " +
                    $"(unless {AllowPrivateNetworksKey} is true or {AllowedHosts.ConfigKey} lists it).";
            }
        }

        return null;
    }

    /// <summary>
    /// The handler for webhook requests: no redirects, cookies or proxy, and a connect step that resolves the host
    /// once, refuses the connection when any address it resolves to is forbidden (unless
    /// <paramref name="allowPrivateNetworks"/>), and then dials those very addresses in order. Connections are
    /// recycled every few minutes so pooled ones do not outlive a DNS change for long. Send HTTP/1.1 or HTTP/2
    /// only: HTTP/3 would bypass the connect step.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(bool allowPrivateNetworks, TimeSpan connectTimeout, AllowedHosts? allowedHosts = null) => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = connectTimeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, allowPrivateNetworks, allowedHosts, cancellationToken),
    };

    /// <summary>
    /// At most <paramref name="maxBytes"/> of a response body, decoded as UTF-8 (invalid bytes become U+FFFD), and
    /// whether the body went on beyond them. Reads at most one byte past the limit, however large the body; the
    /// response must have been requested with <see cref="HttpCompletionOption.ResponseHeadersRead"/> for that to
    /// spare memory. The caller disposes the response.
    /// </summary>
    public static async Task<(string Excerpt, bool Truncated)> ReadExcerptAsync(HttpContent content, int maxBytes, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(maxBytes, Array.MaxLength);

        var buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
        try
        {
            var stream = await content.ReadAsStreamAsync(ct);
            var read = 0;
            while (read <= maxBytes)
            {
                var count = await stream.ReadAsync(buffer.AsMemory(read, maxBytes + 1 - read), ct);
                if (count == 0)
                {
                    break;
                }

                read += count;
            }

            var truncated = read > maxBytes;
            var bytes = buffer.AsSpan(0, Math.Min(read, maxBytes));
            if (truncated && Rune.DecodeLastFromUtf8(bytes, out _, out var tail) == OperationStatus.NeedMoreData)
            {
                // The limit cut a character in two: drop its first bytes rather than show a replacement character.
                bytes = bytes[..^tail];
            }

            return (Encoding.UTF8.GetString(bytes), truncated);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowPrivateNetworks, AllowedHosts? allowedHosts, CancellationToken ct)
    {
        var addresses = await Dns.GetHostAddressesAsync(endPoint.Host, ct);
        if (addresses.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.NameResolutionError, $"Webhook host '{endPoint.Host}' resolved to no address.");
        }

        if (!allowPrivateNetworks && allowedHosts?.AllowsName(endPoint.Host) != true)
        {
            foreach (var address in addresses)
            {
                if (IsForbidden(address) && allowedHosts?.AllowsAddress(address) != true)
                {
                    throw new HttpRequestException(HttpRequestError.ConnectionError,
                        $"Webhook host '{endPoint.Host}' resolves to {address}, a forbidden (loopback, private, link-local or " +
                        $"reserved) address; the request was not sent. Set {AllowPrivateNetworksKey} to true to allow it.");
                }
            }
        }

        Exception? lastFailure = null;
        foreach (var resolved in addresses)
        {
            var address = resolved.IsIPv4MappedToIPv6 ? resolved.MapToIPv4() : resolved;
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), ct);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                lastFailure = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        ExceptionDispatchInfo.Throw(lastFailure!);
        return null;
    }

    private static bool IsForbiddenIPv4(IPAddress address) => IsInAny(address, ForbiddenIPv4);

    private static bool IsInAny(IPAddress address, IPNetwork[] networks)
    {
        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Why the host as written is not in its one plain form, or null: a trailing dot (<c>127.0.0.1.</c>,
    /// <c>localhost.</c>), percent-encoding, an IPv4 address in any form but dotted decimal (<c>127.1</c>,
    /// <c>2130706433</c>, <c>0x7f000001</c>, <c>0177.0.0.1</c>), or a name whose last label is a number. Such forms
    /// reach the same addresses as their plain ones while slipping past checks that compare text.
    /// </summary>
    private static string? NonCanonicalHost(string url, Uri uri)
    {
        var authority = url.AsSpan(url.IndexOf("://", StringComparison.Ordinal) + 3);
        var end = authority.IndexOfAny(AuthorityEnd);
        var host = end < 0 ? authority : authority[..end];
        if (host.StartsWith('['))
        {
            return null; // IPv6 literals are checked as addresses
        }

        var colon = host.LastIndexOf(':');
        if (colon >= 0)
        {
            host = host[..colon];
        }

        if (host.EndsWith('.'))
        {
            return $"url's host '{host}' ends with a dot; write it without.";
        }

        if (host.Contains('%'))
        {
            return "url's host must be written plainly, without percent-encoding.";
        }

        if (uri.HostNameType == UriHostNameType.IPv4)
        {
            return host.Equals(uri.Host, StringComparison.OrdinalIgnoreCase)
                ? null
                : $"url writes the address {uri.Host} as '{host}'; write IPv4 addresses in dotted decimal ({uri.Host}).";
        }

        var lastLabel = host[(host.LastIndexOf('.') + 1)..];
        return lastLabel.Length > 0 && (lastLabel.IndexOfAnyExceptInRange('0', '9') < 0
            || lastLabel.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            ? $"url's host '{host}' reads as a number, not a name or a dotted-decimal address."
            : null;
    }

    /// <summary>An <c>@</c> in the authority as written, which <see cref="Uri"/> drops when nothing precedes it (<c>http://@host/</c>).</summary>
    private static bool HasUserInfo(string url)
    {
        var authority = url.AsSpan(url.IndexOf("://", StringComparison.Ordinal) + 3);
        var end = authority.IndexOfAny(AuthorityEnd);
        return (end < 0 ? authority : authority[..end]).Contains('@');
    }
}

/// <summary>
/// <c>Tern:Webhooks:AllowedHosts</c>: host names and address ranges (CIDR, or single addresses) that webhooks may
/// reach even when they are private, such as a self-hosted <c>http://n8n:5678</c>; every other private address stays
/// refused.
/// </summary>
public sealed class AllowedHosts
{
    public const string ConfigKey = "Tern:Webhooks:AllowedHosts";

    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<IPNetwork> _networks = [];

    private AllowedHosts()
    {
    }

    public static AllowedHosts Parse(string? list)
    {
        var allowed = new AllowedHosts();
        foreach (var entry in (list ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPNetwork.TryParse(entry, out var network))
            {
                allowed._networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                allowed._networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (Uri.CheckHostName(entry) == UriHostNameType.Dns)
            {
                allowed._names.Add(entry.TrimEnd('.'));
            }
            else
            {
                throw new InvalidOperationException($"{ConfigKey} holds '{entry}', which is neither a host name nor an address range.");
            }
        }

        return allowed;
    }

    public bool AllowsName(string host) => _names.Count > 0 && _names.Contains(host.TrimEnd('.'));

    public bool AllowsAddress(IPAddress address)
    {
        var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in _networks)
        {
            if (network.Contains(plain))
            {
                return true;
            }
        }

        return false;
    }
}
