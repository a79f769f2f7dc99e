using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Tern.Server.Clicks;

using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Clicks;

public sealed class CountryResolverTests
{
    private const string DatabaseFile = TestData.CountryDatabaseFile;

    private static CountryResolver Resolver(string? countryHeader = "CF-IPCountry", string? mmdbPath = null) =>
        new(Options.Create(new GeoOptions { CountryHeader = countryHeader, MmdbPath = mmdbPath }));

    [Theory]
    [InlineData("DE", "DE")]
    [InlineData("de", "DE")]
    [InlineData(" fr ", "FR")]
    [InlineData("XK", "XK")]
    public void HeaderCountryWinsOverTheDatabase(string header, string expected)
    {
        using var resolver = Resolver(mmdbPath: RealDatabase());

        Assert.Equal(expected, resolver.Resolve(header, IPAddress.Parse("8.8.8.8")));
    }

    [Theory]
    [InlineData("XX")]
    [InlineData("T1")]
    [InlineData("xx")]
    [InlineData("")]
    [InlineData("U")]
    [InlineData("USA")]
    [InlineData("1A")]
    [InlineData("ÜS")]
    [InlineData("AA")]
    [InlineData(null)]
    public void UnknownTorOrInvalidHeaderValuesFallBackToTheDatabase(string? header)
    {
        using var resolver = Resolver(mmdbPath: RealDatabase());

        Assert.Equal("US", resolver.Resolve(header, IPAddress.Parse("8.8.8.8")));
    }

    [Theory]
    [InlineData("XX")]
    [InlineData("T1")]
    [InlineData("nonsense")]
    public void UnknownOrTorHeaderWithoutDatabaseGivesNoCountry(string header)
    {
        using var resolver = Resolver();

        Assert.Null(resolver.Resolve(header, IPAddress.Parse("8.8.8.8")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("  ")]
    public void HeaderIsIgnoredUnlessACountryHeaderIsConfigured(string? countryHeader)
    {
        using var resolver = Resolver(countryHeader, mmdbPath: RealDatabase());

        Assert.Null(resolver.HeaderName);
        Assert.Equal("US", resolver.Resolve("DE", IPAddress.Parse("8.8.8.8")));
    }

    [Fact]
    public void NamesTheConfiguredHeader()
    {
        using var resolver = Resolver(" CF-IPCountry ");

        Assert.Equal("CF-IPCountry", resolver.HeaderName);
    }

    [Theory]
    [InlineData("8.8.8.8", "US")]            // Google Public DNS
    [InlineData("193.0.14.129", "NL")]       // k.root-servers.net, RIPE NCC Amsterdam
    [InlineData("133.11.0.1", "JP")]         // University of Tokyo
    [InlineData("200.160.2.3", "BR")]        // NIC.br
    [InlineData("81.2.69.142", "GB")]        // MaxMind's own test address
    [InlineData("2001:4860:4860::8888", "US")]
    [InlineData("2001:67c:2e8:22::c100:68b", "NL")]
    [InlineData("::ffff:193.0.14.129", "NL")]
    public void LooksUpWellKnownAddressesInTheRealDatabase(string address, string expected)
    {
        using var resolver = Resolver(mmdbPath: RealDatabase());

        Assert.Equal(expected, resolver.Resolve(null, IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.5.4")]
    [InlineData("192.168.1.1")]
    [InlineData("127.0.0.1")]
    [InlineData("100.64.1.1")]
    [InlineData("169.254.1.1")]
    [InlineData("0.0.0.0")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:10.0.0.1")]
    public void PrivateAndLoopbackAddressesHaveNoCountry(string address)
    {
        // Every address has a country in this database, so only the resolver's own check can answer null.
        var path = WriteTemporaryFile(TwoNetworkDatabase(
            ipVersion: 6,
            lowerHalf: new Dictionary<string, object> { ["country_code"] = "US" },
            upperHalf: new Dictionary<string, object> { ["country_code"] = "NL" }));
        try
        {
            using var resolver = Resolver(mmdbPath: path);

            Assert.Equal("US", resolver.Resolve(null, IPAddress.Parse("8.8.8.8")));
            Assert.Equal("NL", resolver.Resolve(null, IPAddress.Parse("fe00::1")));
            Assert.Null(resolver.Resolve(null, IPAddress.Parse(address)));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NoAddressAndNoHeaderGivesNoCountry()
    {
        using var resolver = Resolver(mmdbPath: RealDatabase());

        Assert.Null(resolver.Resolve(null, null));
    }

    [Fact]
    public void ReadsTheMaxMindShapeFallingBackToTheRegisteredCountry()
    {
        // GeoIP2/GeoLite2 records nest the code; registered_country stands in where country is absent.
        var path = WriteTemporaryFile(TwoNetworkDatabase(
            ipVersion: 4,
            lowerHalf: new Dictionary<string, object>
            {
                ["continent"] = new Dictionary<string, object> { ["code"] = "NA" },
                ["country"] = new Dictionary<string, object> { ["iso_code"] = "US", ["geoname_id"] = 6252001u },
                ["registered_country"] = new Dictionary<string, object> { ["iso_code"] = "CA" },
            },
            upperHalf: new Dictionary<string, object>
            {
                ["registered_country"] = new Dictionary<string, object> { ["iso_code"] = "NL" },
            }));
        try
        {
            using var resolver = Resolver(mmdbPath: path);

            Assert.Equal("US", resolver.Resolve(null, IPAddress.Parse("8.8.8.8")));
            Assert.Equal("NL", resolver.Resolve(null, IPAddress.Parse("193.0.14.129")));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ResolvesConcurrentlyFromOneSharedReader()
    {
        using var resolver = Resolver(mmdbPath: RealDatabase());
        var cases = new (IPAddress Address, string Country)[]
        {
            (IPAddress.Parse("8.8.8.8"), "US"),
            (IPAddress.Parse("193.0.14.129"), "NL"),
            (IPAddress.Parse("133.11.0.1"), "JP"),
            (IPAddress.Parse("200.160.2.3"), "BR"),
        };
        var wrong = 0;

        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var (address, country) = cases[i % cases.Length];
            if (resolver.Resolve(null, address) != country)
            {
                Interlocked.Increment(ref wrong);
            }
        });

        Assert.Equal(0, wrong);
    }

    [Fact]
    public void MissingDatabaseFailsAtStartNamingTheSetting()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tern-missing-{Guid.NewGuid():N}.mmdb");

        var error = Assert.Throws<InvalidOperationException>(() => Resolver(mmdbPath: path));

        Assert.Contains("Tern:Geo:MmdbPath", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    public void CorruptDatabaseFailsAtStartNamingTheSetting(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        var path = WriteTemporaryFile(bytes);
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => Resolver(mmdbPath: path));

            Assert.Contains("Tern:Geo:MmdbPath", error.Message, StringComparison.Ordinal);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void WithoutDatabaseOrHeaderEveryClickHasNoCountry()
    {
        using var resolver = Resolver(countryHeader: null);

        Assert.Null(resolver.Resolve("US", IPAddress.Parse("8.8.8.8")));
    }

    private static string RealDatabase() => TestData.CountryDatabase();

    private static string WriteTemporaryFile(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"tern-{Guid.NewGuid():N}.mmdb");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// A minimal MaxMind DB (format 2.0, 24-bit records) with one search node: the lower half of the address
    /// space (0.0.0.0/1, or ::/1 with every IPv4 address) holds <paramref name="lowerHalf"/>, the upper half
    /// <paramref name="upperHalf"/>.
    /// </summary>
    private static byte[] TwoNetworkDatabase(int ipVersion, Dictionary<string, object> lowerHalf, Dictionary<string, object> upperHalf)
    {
        const int nodeCount = 1;
        const int dataSectionSeparator = 16;
        using var data = new MemoryStream();
        Encode(data, lowerHalf);
        var upperOffset = (int)data.Length;
        Encode(data, upperHalf);

        using var file = new MemoryStream();
        WriteRecord(file, nodeCount + dataSectionSeparator);
        WriteRecord(file, nodeCount + dataSectionSeparator + upperOffset);
        file.Write(new byte[dataSectionSeparator]);
        data.WriteTo(file);
        file.Write([0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8]);
        Encode(file, new Dictionary<string, object>
        {
            ["node_count"] = (uint)nodeCount,
            ["record_size"] = (ushort)24,
            ["ip_version"] = (ushort)ipVersion,
            ["database_type"] = "Tern-Test-Country",
            ["languages"] = new[] { "en" },
            ["binary_format_major_version"] = (ushort)2,
            ["binary_format_minor_version"] = (ushort)0,
            ["build_epoch"] = 1_700_000_000UL,
            ["description"] = new Dictionary<string, object> { ["en"] = "Tern test database" },
        });
        return file.ToArray();

        static void WriteRecord(Stream stream, int value)
        {
            stream.WriteByte((byte)(value >> 16));
            stream.WriteByte((byte)(value >> 8));
            stream.WriteByte((byte)value);
        }
    }

    private static void Encode(Stream stream, object value)
    {
        switch (value)
        {
            case string text:
                var bytes = Encoding.UTF8.GetBytes(text);
                Control(stream, 2, bytes.Length);
                stream.Write(bytes);
                break;
            case ushort number:
                Unsigned(stream, 5, number);
                break;
            case uint number:
                Unsigned(stream, 6, number);
                break;
            case ulong number:
                Unsigned(stream, 9, number);
                break;
            case Dictionary<string, object> map:
                Control(stream, 7, map.Count);
                foreach (var (key, item) in map)
                {
                    Encode(stream, key);
                    Encode(stream, item);
                }

                break;
            case string[] items:
                Control(stream, 11, items.Length);
                foreach (var item in items)
                {
                    Encode(stream, item);
                }

                break;
            default:
                throw new ArgumentException($"Cannot encode {value.GetType()}.", nameof(value));
        }

        static void Unsigned(Stream stream, int type, ulong number)
        {
            var length = 0;
            for (var rest = number; rest != 0; rest >>= 8)
            {
                length++;
            }

            Control(stream, type, length);
            for (var i = length - 1; i >= 0; i--)
            {
                stream.WriteByte((byte)(number >> (8 * i)));
            }
        }

        // Types 1–7 fit the control byte's top three bits; the rest are "extended", their type in a second byte.
        static void Control(Stream stream, int type, int size)
        {
            Assert.InRange(size, 0, 28);
            if (type <= 7)
            {
                stream.WriteByte((byte)((type << 5) | size));
            }
            else
            {
                stream.WriteByte((byte)size);
                stream.WriteByte((byte)(type - 7));
            }
        }
    }
}
