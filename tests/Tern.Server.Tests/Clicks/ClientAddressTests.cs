using System.Net;
using System.Net.Sockets;
using Tern.Server.Clicks;

namespace Tern.Server.Tests.Clicks;

public sealed class ClientAddressTests
{
    private static readonly IReadOnlyList<IPNetwork> Trusted =
        ClientAddress.ParseNetworks(["10.0.0.0/8", "127.0.0.1", "::1", "2001:db8:ffff::/48"]);

    private static IPAddress? Resolve(string? remote, string? forwardedFor) =>
        ClientAddress.Resolve(remote is null ? null : IPAddress.Parse(remote), forwardedFor, Trusted);

    [Fact]
    public void IgnoresForwardedForFromAnUntrustedPeer() =>
        Assert.Equal(IPAddress.Parse("198.51.100.9"), Resolve("198.51.100.9", "1.2.3.4"));

    [Fact]
    public void IgnoresForwardedForWhenNoProxyIsTrusted() =>
        Assert.Equal(IPAddress.Parse("10.0.0.2"), ClientAddress.Resolve(IPAddress.Parse("10.0.0.2"), "1.2.3.4", []));

    [Fact]
    public void RightmostUntrustedHopWinsThroughTwoTrustedProxies() =>
        // The visitor sent "6.6.6.6" itself; the first trusted proxy appended the address it saw.
        Assert.Equal(IPAddress.Parse("198.51.100.23"), Resolve("10.0.0.2", "6.6.6.6, 198.51.100.23, 10.0.0.1"));

    [Fact]
    public void ReadsSeveralHeaderValuesJoinedByCommas() =>
        Assert.Equal(IPAddress.Parse("198.51.100.23"), Resolve("127.0.0.1", "6.6.6.6,198.51.100.23,10.1.1.1"));

    [Theory]
    [InlineData("10.0.0.1", "192.0.2.1", "192.0.2.1")]
    [InlineData("10.255.255.254", "192.0.2.1", "192.0.2.1")]
    [InlineData("11.0.0.1", "192.0.2.1", "11.0.0.1")]
    [InlineData("127.0.0.2", "192.0.2.1", "127.0.0.2")]
    [InlineData("2001:db8:ffff:1::5", "192.0.2.1", "192.0.2.1")]
    [InlineData("2001:db8:fffe::5", "192.0.2.1", "2001:db8:fffe::5")]
    public void TrustsExactlyTheAddressesInsideTheConfiguredNetworks(string remote, string forwardedFor, string expected) =>
        Assert.Equal(IPAddress.Parse(expected), Resolve(remote, forwardedFor));

    [Theory]
    [InlineData("2001:db8::7")]
    [InlineData("[2001:db8::7]")]
    [InlineData("[2001:db8::7]:443")]
    [InlineData("  [2001:db8::7]:443  ")]
    public void ReadsIPv6HopsWithOrWithoutBracketsAndPort(string hop) =>
        Assert.Equal(IPAddress.Parse("2001:db8::7"), Resolve("::1", hop + ", 10.0.0.1"));

    [Fact]
    public void ReadsIPv4HopsWithAPort() =>
        Assert.Equal(IPAddress.Parse("198.51.100.23"), Resolve("10.0.0.2", "198.51.100.23:51234"));

    [Fact]
    public void MapsIPv4MappedHopsToIPv4()
    {
        var visitor = Resolve("::ffff:10.0.0.2", "::ffff:198.51.100.23, [::ffff:10.0.0.1]:80");

        Assert.Equal(IPAddress.Parse("198.51.100.23"), visitor);
        Assert.Equal(AddressFamily.InterNetwork, visitor!.AddressFamily);
    }

    [Fact]
    public void MapsAnIPv4MappedPeerToIPv4BeforeCheckingTrust()
    {
        Assert.Equal(IPAddress.Parse("198.51.100.23"), Resolve("::ffff:127.0.0.1", "198.51.100.23"));
        Assert.Equal(IPAddress.Parse("198.51.100.9"), Resolve("::ffff:198.51.100.9", null));
    }

    [Theory]
    [InlineData("198.51.100.23, unknown", "10.0.0.2")]
    [InlineData("198.51.100.23, garbage, 10.0.0.1", "10.0.0.1")]
    [InlineData("198.51.100.23, 12345", "10.0.0.2")]
    [InlineData("198.51.100.23, 010.0.0.1", "10.0.0.2")]
    [InlineData("198.51.100.23, 1.2.3", "10.0.0.2")]
    [InlineData("198.51.100.23, 1.2.3.4.5", "10.0.0.2")]
    [InlineData("198.51.100.23, 256.1.1.1", "10.0.0.2")]
    [InlineData("198.51.100.23, 1.2.3.4:", "10.0.0.2")]
    [InlineData("198.51.100.23, 1.2.3.4:1234567", "10.0.0.2")]
    [InlineData("198.51.100.23, [2001:db8::1", "10.0.0.2")]
    [InlineData("198.51.100.23, [2001:db8::1]x", "10.0.0.2")]
    [InlineData("198.51.100.23, fe80::1%eth0", "10.0.0.2")]
    [InlineData("198.51.100.23, _hidden", "10.0.0.2")]
    [InlineData("198.51.100.23, \"1.2.3.4\"", "10.0.0.2")]
    public void MalformedEntryStopsTheWalkAtTheLastTrustedHop(string forwardedFor, string expected) =>
        Assert.Equal(IPAddress.Parse(expected), Resolve("10.0.0.2", forwardedFor));

    [Fact]
    public void SkipsEmptyEntries() =>
        Assert.Equal(IPAddress.Parse("198.51.100.23"), Resolve("10.0.0.2", "198.51.100.23,, 10.0.0.1 , "));

    [Fact]
    public void AnswersTheLeftmostHopWhenEveryHopIsTrusted() =>
        Assert.Equal(IPAddress.Parse("10.0.0.1"), Resolve("10.0.0.2", "10.0.0.1, 10.0.0.3"));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void TrustedPeerWithoutHeaderIsTheVisitor(string? forwardedFor) =>
        Assert.Equal(IPAddress.Parse("10.0.0.2"), Resolve("10.0.0.2", forwardedFor));

    [Fact]
    public void NoPeerAddressMeansNoVisitorAddress() => Assert.Null(Resolve(null, "198.51.100.23"));

    [Fact]
    public void ParsesSingleAddressesCidrNetworksAndCommaSeparatedEntries()
    {
        var networks = ClientAddress.ParseNetworks(["192.0.2.7", " 10.0.0.0/8 , fd00::/8", "[::1]", "::ffff:172.16.0.0/108", ""]);

        Assert.Equal(
            ["192.0.2.7/32", "10.0.0.0/8", "fd00::/8", "::1/128", "172.16.0.0/12"],
            networks.Select(n => n.ToString()).ToArray());
    }

    [Theory]
    [InlineData("not-an-ip")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0.1/8")]
    [InlineData("10.0.0")]
    [InlineData("10.0.0.0/")]
    [InlineData("10/8")]
    [InlineData("10.0.0.0/+8")]
    [InlineData("::ffff:10.0.0.0/90")]
    public void RefusesABadTrustedProxyEntryNamingIt(string entry)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ClientAddress.ParseNetworks(["127.0.0.1", entry]));

        Assert.Contains($"'{entry}'", error.Message, StringComparison.Ordinal);
    }
}
