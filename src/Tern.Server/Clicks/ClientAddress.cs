using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tern.Server.Clicks;

/// <summary>
/// Finds the visitor's address behind trusted reverse proxies. The address is used in memory only, to
/// look up a country; it is never stored.
/// </summary>
public static class ClientAddress
{
    private static readonly SearchValues<char> Ipv6Characters = SearchValues.Create("0123456789abcdefABCDEF:.");

    /// <summary>
    /// The visitor's address: <paramref name="remote"/> itself unless it lies in a trusted proxy network;
    /// otherwise the rightmost <c>X-Forwarded-For</c> entry that is not a trusted proxy. Only trusted hops
    /// are believed, so a visitor cannot spoof the answer by sending the header. A malformed entry ends the
    /// walk at the last hop that could be believed. IPv4-mapped IPv6 addresses come back as IPv4.
    /// </summary>
    public static IPAddress? Resolve(IPAddress? remote, string? forwardedFor, IReadOnlyList<IPNetwork> trustedProxies)
    {
        if (remote is null)
        {
            return null;
        }

        var current = Unmap(remote);
        if (string.IsNullOrEmpty(forwardedFor) || !IsTrusted(current, trustedProxies))
        {
            return current;
        }

        // Several header values arrive joined by commas; the rightmost entry was added by the proxy nearest to us.
        ReadOnlySpan<char> rest = forwardedFor;
        while (!rest.IsEmpty)
        {
            var comma = rest.LastIndexOf(',');
            var entry = rest[(comma + 1)..].Trim();
            rest = comma < 0 ? [] : rest[..comma];
            if (entry.IsEmpty)
            {
                continue;
            }

            if (!TryParseHop(entry, out var hop))
            {
                return current;
            }

            if (!IsTrusted(hop, trustedProxies))
            {
                return hop;
            }

            current = hop;
        }

        return current;
    }

    /// <summary>
    /// Parses trusted proxy networks: single addresses (<c>10.0.0.5</c>, <c>::1</c>) and CIDR networks
    /// (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>); an entry may also hold several, comma-separated.
    /// </summary>
    /// <exception cref="InvalidOperationException">An entry is neither; the message names it.</exception>
    public static IReadOnlyList<IPNetwork> ParseNetworks(IEnumerable<string> entries)
    {
        var networks = new List<IPNetwork>();
        foreach (var entry in entries)
        {
            foreach (var range in (entry ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                networks.Add(ParseNetwork(range));
            }
        }

        return networks;
    }

    private static IPNetwork ParseNetwork(string range)
    {
        var slash = range.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            if (TryParseHop(range, out var address))
            {
                return new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            }
        }
        else if (TryParseAddress(range.AsSpan(0, slash), out var address)
            && int.TryParse(range.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            if (address.IsIPv4MappedToIPv6)
            {
                // ::ffff:10.0.0.0/104 means 10.0.0.0/8: addresses are compared after unmapping.
                address = address.MapToIPv4();
                prefix -= 96;
            }

            // IPNetwork.TryParse would silently drop host bits (10.0.0.1/8) and read 10/8 as 0.0.0.0/8.
            var maxPrefix = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
            if (prefix >= 0 && prefix <= maxPrefix
                && IPNetwork.TryParse($"{address}/{prefix}", out var network) && network.BaseAddress.Equals(address))
            {
                return network;
            }
        }

        throw new InvalidOperationException(
            $"Trusted proxy entry '{range}' is neither an IP address (10.0.0.5, ::1) nor a CIDR network " +
            "(10.0.0.0/8, 2001:db8::/32) with no address bits set after the prefix.");
    }

    private static bool IsTrusted(IPAddress address, IReadOnlyList<IPNetwork> trustedProxies)
    {
        for (var i = 0; i < trustedProxies.Count; i++)
        {
            if (trustedProxies[i].Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>
    /// One forwarded hop: <c>1.2.3.4</c>, <c>1.2.3.4:5678</c>, <c>2001:db8::1</c>, <c>[2001:db8::1]</c> or
    /// <c>[2001:db8::1]:443</c>, IPv4-mapped addresses unmapped.
    /// </summary>
    private static bool TryParseHop(ReadOnlySpan<char> entry, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (entry.StartsWith('['))
        {
            var close = entry.IndexOf(']');
            if (close < 0 || !IsPortSuffix(entry[(close + 1)..]) || entry[1..close].IndexOf(':') < 0)
            {
                return false;
            }

            entry = entry[1..close];
        }
        else
        {
            var firstColon = entry.IndexOf(':');
            if (firstColon >= 0 && entry.LastIndexOf(':') == firstColon)
            {
                // Exactly one colon: an IPv4 address with a port.
                if (!IsPortSuffix(entry[firstColon..]))
                {
                    return false;
                }

                entry = entry[..firstColon];
            }
        }

        if (!TryParseAddress(entry, out address))
        {
            return false;
        }

        address = Unmap(address);
        return true;
    }

    /// <summary>
    /// A bare address, stricter than <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/>, which
    /// would read <c>12345</c>, <c>010.1.1.1</c> or <c>fe80::1%eth0</c> as some address.
    /// </summary>
    private static bool TryParseAddress(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (text.IndexOf(':') < 0)
        {
            Span<byte> bytes = stackalloc byte[4];
            if (!TryParseIpv4(text, bytes))
            {
                return false;
            }

            address = new IPAddress(bytes);
            return true;
        }

        if (text.ContainsAnyExcept(Ipv6Characters)
            || !IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = parsed;
        return true;
    }

    /// <summary>Dotted-quad decimal only, each part 0–255 without leading zeros.</summary>
    private static bool TryParseIpv4(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        for (var part = 0; part < 4; part++)
        {
            var end = part < 3 ? text.IndexOf('.') : text.Length;
            if (end is < 1 or > 3)
            {
                return false;
            }

            var digits = text[..end];
            if ((digits.Length > 1 && digits[0] == '0') || !byte.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out bytes[part]))
            {
                return false;
            }

            text = part < 3 ? text[(end + 1)..] : [];
        }

        return true;
    }

    /// <summary>Nothing, or <c>:</c> followed by 1–5 digits.</summary>
    private static bool IsPortSuffix(ReadOnlySpan<char> suffix) =>
        suffix.IsEmpty || (suffix[0] == ':' && suffix.Length is >= 2 and <= 6 && !suffix[1..].ContainsAnyExceptInRange('0', '9'));
}
