using System.Net;
using MaxMind.Db;
using Microsoft.Extensions.Options;

namespace Tern.Server.Clicks;

/// <summary>Settings under <c>Tern:Geo</c>: where a click's country comes from.</summary>
public sealed class GeoOptions
{
    public const string Section = "Tern:Geo";

    /// <summary>Name of a trusted request header holding the visitor's ISO country code, e.g. <c>CF-IPCountry</c>.</summary>
    public string? CountryHeader { get; set; }

    /// <summary>MaxMind-format country database (GeoLite2/GeoIP2 Country or City, ip-location-db) used when no header gives the country.</summary>
    public string? MmdbPath { get; set; }
}

/// <summary>
/// The visitor's country as an upper-case ISO 3166-1 alpha-2 code, or null: from the trusted
/// <see cref="GeoOptions.CountryHeader"/> when it holds an assigned code, else from the
/// <see cref="GeoOptions.MmdbPath"/> database. The address is only looked up, never kept.
/// </summary>
public sealed class CountryResolver : IDisposable
{
    // Officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo, user-assigned but what Cloudflare,
    // MaxMind and the EU use). Cloudflare's XX (unknown) and T1 (Tor) are deliberately absent.
    private const string AssignedCodes =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
        "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO " +
        "FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE " +
        "JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO " +
        "MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW " +
        "PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM " +
        "TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK";

    // Indexed by the two letters, so every caller shares one string per country.
    private static readonly string?[] Codes = BuildCodes();

    private static readonly IPAddress ProbeAddress = IPAddress.Parse("8.8.8.8");

    private readonly Reader? _database;

    /// <exception cref="InvalidOperationException">The database at <see cref="GeoOptions.MmdbPath"/> is missing or unreadable.</exception>
    public CountryResolver(IOptions<GeoOptions> options)
    {
        var geo = options.Value;
        HeaderName = string.IsNullOrWhiteSpace(geo.CountryHeader) ? null : geo.CountryHeader.Trim();
        if (!string.IsNullOrWhiteSpace(geo.MmdbPath))
        {
            _database = Open(geo.MmdbPath);
        }
    }

    /// <summary>The trusted request header to read the country from, or null when none is configured.</summary>
    public string? HeaderName { get; }

    /// <summary>
    /// The country of a click: <paramref name="headerValue"/> (the value of the configured header; ignored
    /// when none is configured) when it is an assigned code, else the database's answer for a public
    /// <paramref name="address"/>. Thread-safe. Cost: no allocation on the header path; a database lookup
    /// walks the memory-mapped file and decodes one small record, with no I/O once the OS has cached its pages.
    /// </summary>
    public string? Resolve(string? headerValue, IPAddress? address)
    {
        if (HeaderName is not null && ToIsoCode(headerValue) is { } fromHeader)
        {
            return fromHeader;
        }

        if (_database is null || address is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            // The database files IPv4 under its own subtree; ::ffff:a.b.c.d would find nothing.
            address = address.MapToIPv4();
        }

        if (!IsPublic(address))
        {
            return null;
        }

        CountryRecord? record;
        try
        {
            record = _database.Find<CountryRecord>(address);
        }
        catch (InvalidDatabaseException)
        {
            // A damaged region of the file costs this click its country, never the redirect.
            return null;
        }

        return record is null
            ? null
            : ToIsoCode(record.CountryCode) ?? ToIsoCode(record.Country?.IsoCode) ?? ToIsoCode(record.RegisteredCountry?.IsoCode);
    }

    /// <summary>The upper-case ISO 3166-1 alpha-2 code for <paramref name="value"/> (any case, surrounding spaces allowed), or null when it is not an assigned one.</summary>
    public static string? ToIsoCode(ReadOnlySpan<char> value)
    {
        value = value.Trim();
        return value.Length == 2 && char.IsAsciiLetter(value[0]) && char.IsAsciiLetter(value[1])
            ? Codes[Index(value[0], value[1])]
            : null;
    }

    public void Dispose() => _database?.Dispose();

    private static Reader Open(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new InvalidOperationException(
                $"Tern:Geo:MmdbPath: there is no file at '{fullPath}'. Point it at a MaxMind-format country database " +
                "(e.g. GeoLite2-Country.mmdb) or remove the setting.");
        }

        Reader? reader = null;
        try
        {
            reader = new Reader(fullPath, FileAccessMode.MemoryMapped);
            // Walks the search tree and decodes a record, so a damaged file fails here rather than on the first click.
            reader.Find<CountryRecord>(ProbeAddress);
            return reader;
        }
        catch (Exception ex)
        {
            reader?.Dispose();
            throw new InvalidOperationException(
                $"Tern:Geo:MmdbPath: '{fullPath}' cannot be read as a MaxMind-format database: {ex.Message}", ex);
        }
    }

    private static bool IsPublic(IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        if (!address.TryWriteBytes(b, out var length))
        {
            return false;
        }

        if (length == 4)
        {
            return b[0] switch
            {
                0 or 10 or 127 or >= 224 => false,          // "this" network, private, loopback, multicast and reserved
                100 => (b[1] & 0xC0) != 64,                 // 100.64.0.0/10 carrier-grade NAT
                169 => b[1] != 254,                         // link-local
                172 => (b[1] & 0xF0) != 16,                 // 172.16.0.0/12
                192 => b[1] != 168 && !(b[1] == 0 && b[2] is 0 or 2),
                198 => (b[1] & 0xFE) != 18 && !(b[1] == 51 && b[2] == 100),
                203 => !(b[1] == 0 && b[2] == 113),
                _ => true,
            };
        }

        return b[0] switch
        {
            0 or 0xFC or 0xFD or 0xFF => false,            // ::/8 (unspecified, loopback, reserved), unique local, multicast
            0xFE => (b[1] & 0x80) == 0,                     // fe80::/10 link-local and fec0::/10 site-local
            0x20 => !(b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8), // 2001:db8::/32 documentation
            _ => true,
        };
    }

    private static int Index(char first, char second) => ((first | 0x20) - 'a') * 26 + ((second | 0x20) - 'a');

    private static string?[] BuildCodes()
    {
        var codes = new string?[26 * 26];
        foreach (var code in AssignedCodes.Split(' '))
        {
            codes[Index(code[0], code[1])] = code;
        }

        return codes;
    }
}

/// <summary>
/// The parts of a database record that name a country, in either shape: ip-location-db's flat
/// <c>country_code</c>, or MaxMind GeoIP2/GeoLite2's <c>country.iso_code</c> with <c>registered_country</c>
/// for networks whose users' country is unknown. Other keys (names, continent, …) are not mapped.
/// </summary>
internal sealed class CountryRecord
{
    [MapKey("country_code")]
    public string? CountryCode { get; init; }

    [MapKey("country")]
    public CountryRecordPart? Country { get; init; }

    [MapKey("registered_country")]
    public CountryRecordPart? RegisteredCountry { get; init; }
}

internal sealed class CountryRecordPart
{
    [MapKey("iso_code")]
    public string? IsoCode { get; init; }
}
