using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

/// <summary>
/// A destination as the redirect path serves it: the URL with UTMs merged, and where a forwarded query goes.
/// Built once per cached link; answering with it allocates nothing unless the visitor's query is appended.
/// </summary>
public sealed class RedirectTarget
{
    public RedirectTarget(string url)
    {
        Url = url;
        FragmentAt = url.IndexOf('#', StringComparison.Ordinal);
        HasQuery = (FragmentAt < 0 ? url : url[..FragmentAt]).Contains('?', StringComparison.Ordinal);
    }

    public string Url { get; }

    /// <summary>Where the destination's fragment starts, or -1; a forwarded query goes before it.</summary>
    public int FragmentAt { get; }

    public bool HasQuery { get; }

    /// <summary>The destination with the short URL's own query (without its '?') appended before the fragment.</summary>
    public string WithQuery(ReadOnlySpan<char> query)
    {
        var beforeFragment = FragmentAt < 0 ? Url.AsSpan() : Url.AsSpan(0, FragmentAt);
        var fragment = FragmentAt < 0 ? [] : Url.AsSpan(FragmentAt);
        return string.Concat(beforeFragment, HasQuery ? "&" : "?", query, fragment);
    }
}

/// <summary>What a smart link's decision came to for one request.</summary>
public readonly record struct SmartDecision(RedirectTarget Target, short RuleIndex, short Variant);

/// <summary>
/// A link's go-live, targeting rules, A/B variants, preview page and password, compiled when the link is cached so
/// that deciding a request reads only arrays: devices as a bit mask, countries as two-letter codes packed in a
/// ushort, instants as Unix milliseconds, query conditions pre-escaped as the request sends them. Cost model: no
/// storage access and no allocation, except that a country condition without a trusted country header looks the
/// visitor's address up in the MaxMind database, as the click writer would. A plain link has no route at all, so it
/// pays one null check.
/// </summary>
public sealed class SmartRoute
{
    public const byte Desktop = 1;
    public const byte Mobile = 2;
    public const byte Tablet = 4;

    /// <summary>The marker a QR code's URL carries: recorded as the click's source, never forwarded.</summary>
    public const string QrMarker = "qr=1";

    private readonly CompiledRule[] _rules;
    private readonly RedirectTarget[] _variants;
    private readonly byte[] _variantOfPercent;
    private readonly ulong _linkSeed;

    private SmartRoute(Link link)
    {
        Fallback = new RedirectTarget(link.Url);
        StartsAtMs = link.StartsAt?.ToUnixTimeMilliseconds() ?? long.MinValue;
        PrelaunchUrl = link.PrelaunchUrl;
        _rules = link.Rules is { } rules ? [.. rules.Select(r => new CompiledRule(r, link.Utm))] : [];
        _variants = link.Variants is { } variants ? [.. variants.Select(v => new RedirectTarget(UtmMerge.Apply(v.Url!, link.Utm)))] : [];
        _variantOfPercent = new byte[_variants.Length == 0 ? 0 : 100];
        var percent = 0;
        for (var i = 0; i < _variants.Length; i++)
        {
            for (var end = percent + link.Variants![i].Weight!.Value; percent < end && percent < 100; percent++)
            {
                _variantOfPercent[percent] = (byte)i;
            }
        }

        _linkSeed = Fnv1a(FnvOffset, MemoryMarshal.AsBytes(link.Id.AsSpan()));
        PreviewPage = link.Preview is { } preview ? SmartPages.Preview(preview) : null;
        PasswordHash = link.PasswordHash;
        NeedsAgent = _rules.Any(r => r.DeviceMask != 0 || r.Os.Length > 0);
        NeedsCountry = _rules.Any(r => r.Countries.Length > 0);
    }

    /// <summary>The link's route, or null when it has no smart field (the plain path).</summary>
    public static SmartRoute? For(Link link) =>
        link.StartsAt is null && link.Rules is null && link.Variants is null && link.Preview is null && link.PasswordHash is null
            ? null
            : new SmartRoute(link);

    /// <summary>The link's own destination, where a click goes when no rule and no variant decides.</summary>
    public RedirectTarget Fallback { get; }

    public long StartsAtMs { get; }
    public string? PrelaunchUrl { get; }
    public bool HasChoices => _rules.Length > 0 || _variants.Length > 0;

    /// <summary>The Open Graph page link-preview bots get, or null.</summary>
    public byte[]? PreviewPage { get; }

    public string? PasswordHash { get; }
    private bool NeedsAgent { get; }
    private bool NeedsCountry { get; }

    /// <summary>
    /// The first rule whose conditions all hold, else the variant of this visitor, else the link's own destination.
    /// Request facts are read only when a rule asks for them.
    /// </summary>
    public SmartDecision Decide(
        HttpRequest request, long nowMs, CountryResolver countries, string? countryHeader, IReadOnlyList<IPNetwork>? trustedProxies = null)
    {
        if (_rules.Length > 0)
        {
            var headers = request.Headers;
            var agent = NeedsAgent ? ClassifyMemoised(headers.UserAgent) : default;
            var device = DeviceBit(agent.Device);
            ushort country = 0;
            if (NeedsCountry)
            {
                var header = countryHeader is null ? null : headers[countryHeader].ToString();
                var address = ClientAddress.Resolve(request.HttpContext.Connection.RemoteIpAddress, headers["X-Forwarded-For"], trustedProxies ?? []);
                country = CountryCode(countries.Resolve(header, address));
            }

            var language = PrimaryLanguage(headers.AcceptLanguage.ToString());
            var query = request.QueryString.Value.AsSpan();
            for (var i = 0; i < _rules.Length; i++)
            {
                if (_rules[i].Holds(nowMs, device, agent.Os, country, language, query))
                {
                    return new SmartDecision(_rules[i].Target, (short)i, -1);
                }
            }
        }

        if (_variants.Length > 0)
        {
            var variant = _variantOfPercent[(int)(VisitorHash(request) % 100)];
            return new SmartDecision(_variants[variant], -1, variant);
        }

        return new SmartDecision(Fallback, -1, -1);
    }

    /// <summary>
    /// A stable hash of the visitor and the link (address or forwarded-for chain, and User-Agent), so that a visitor
    /// returning gets the same variant on every node and every day; nothing of it is stored.
    /// </summary>
    internal ulong VisitorHash(HttpRequest request)
    {
        var hash = _linkSeed;
        var forwardedFor = request.Headers["X-Forwarded-For"].ToString();
        if (forwardedFor.Length > 0)
        {
            hash = Fnv1a(hash, MemoryMarshal.AsBytes(forwardedFor.AsSpan()));
        }
        else if (request.HttpContext.Connection.RemoteIpAddress is { } address)
        {
            Span<byte> bytes = stackalloc byte[16];
            hash = address.TryWriteBytes(bytes, out var written) ? Fnv1a(hash, bytes[..written]) : hash;
        }

        hash = Fnv1a(hash, MemoryMarshal.AsBytes(request.Headers.UserAgent.ToString().AsSpan()));
        return Mix(hash);
    }

    private const ulong FnvOffset = 14695981039346656037;

    private static ulong Fnv1a(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211;
        }

        return hash;
    }

    // FNV's low bits mix poorly; a 64-bit finaliser (SplitMix64's) spreads every input bit over the result.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>The bot families, as the click classifier names them, that fetch a page to show a card of it.</summary>
    private static readonly string[] PreviewBots =
    [
        "Slackbot", "Twitterbot", "facebookexternalhit", "LinkedInBot", "Discordbot", "TelegramBot", "WhatsApp",
        "SkypeUriPreview", "Pinterestbot", "redditbot", "Mastodon", "Bluesky", "Embedly", "Iframely",
    ];

    /// <summary>True for a link-preview bot (iMessage sends facebookexternalhit's token). No allocation.</summary>
    public static bool IsPreviewBot(string? userAgent)
    {
        var agent = ClassifyMemoised(userAgent);
        return agent.IsBot && Array.IndexOf(PreviewBots, agent.Browser) >= 0;
    }

    private const int MaxMemoisedAgents = 20_000;
    private static readonly ConcurrentDictionary<string, UserAgentInfo> Agents = new(StringComparer.Ordinal);
    private static int _agentCount;

    /// <summary>
    /// The classifier's answer, remembered per User-Agent string: classifying walks the string several times (some
    /// microseconds), a lookup hashes it once. A campaign's visitors share few strings; a flood of new ones only
    /// refills the memo, which is dropped whole when full. Allocates only for a string not seen yet.
    /// </summary>
    private static UserAgentInfo ClassifyMemoised(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent) || userAgent.Length > 1024)
        {
            return UserAgentClassifier.Classify(userAgent);
        }

        if (Agents.TryGetValue(userAgent, out var info))
        {
            return info;
        }

        info = UserAgentClassifier.Classify(userAgent);
        if (Interlocked.Increment(ref _agentCount) > MaxMemoisedAgents)
        {
            Agents.Clear();
            Interlocked.Exchange(ref _agentCount, 0);
        }

        Agents.TryAdd(userAgent, info);
        return info;
    }

    internal static byte DeviceBit(string? device) => device switch
    {
        "desktop" => Desktop,
        "mobile" => Mobile,
        "tablet" => Tablet,
        _ => 0,
    };

    internal static ushort CountryCode(ReadOnlySpan<char> code) =>
        code.Length == 2 ? (ushort)((char.ToUpperInvariant(code[0]) << 8) | char.ToUpperInvariant(code[1])) : (ushort)0;

    /// <summary>The first tag of an Accept-Language header, as a slice of it (no allocation); empty when none.</summary>
    internal static ReadOnlySpan<char> PrimaryLanguage(ReadOnlySpan<char> acceptLanguage)
    {
        var comma = acceptLanguage.IndexOf(',');
        var first = comma < 0 ? acceptLanguage : acceptLanguage[..comma];
        var semicolon = first.IndexOf(';');
        return (semicolon < 0 ? first : first[..semicolon]).Trim();
    }

    /// <summary>True when the raw query (with or without its '?') holds <paramref name="pair"/> ("name=value") as a whole parameter.</summary>
    internal static bool HasParameter(ReadOnlySpan<char> query, ReadOnlySpan<char> pair)
    {
        if (query.StartsWith('?'))
        {
            query = query[1..];
        }

        while (!query.IsEmpty)
        {
            var amp = query.IndexOf('&');
            var parameter = amp < 0 ? query : query[..amp];
            if (parameter.SequenceEqual(pair))
            {
                return true;
            }

            query = amp < 0 ? [] : query[(amp + 1)..];
        }

        return false;
    }

    /// <summary>The raw query (without '?') with every QR marker taken out; allocates, and only runs for QR scans.</summary>
    internal static string WithoutQrMarker(ReadOnlySpan<char> query)
    {
        if (query.StartsWith('?'))
        {
            query = query[1..];
        }

        var kept = new StringBuilder(query.Length);
        while (!query.IsEmpty)
        {
            var amp = query.IndexOf('&');
            var parameter = amp < 0 ? query : query[..amp];
            if (!parameter.IsEmpty && !parameter.SequenceEqual(QrMarker))
            {
                kept.Append(kept.Length == 0 ? "" : "&").Append(parameter);
            }

            query = amp < 0 ? [] : query[(amp + 1)..];
        }

        return kept.ToString();
    }

    /// <summary>One targeting rule, its conditions in the shape the request is compared in.</summary>
    private sealed class CompiledRule
    {
        public CompiledRule(LinkRule rule, UtmParameters? utm)
        {
            Target = new RedirectTarget(UtmMerge.Apply(rule.Url!, utm));
            var when = rule.When ?? new LinkRuleCondition();
            DeviceMask = (byte)(when.Device ?? []).Aggregate(0, (mask, d) => mask | DeviceBit(d));
            Os = [.. when.Os ?? []];
            Countries = [.. (when.Country ?? []).Select(c => CountryCode(c))];
            Languages = [.. when.Language ?? []];
            Query = [.. (when.Query ?? new Dictionary<string, string>()).Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value))];
            AfterMs = when.After?.ToUnixTimeMilliseconds() ?? long.MinValue;
            BeforeMs = when.Before?.ToUnixTimeMilliseconds() ?? long.MaxValue;
        }

        public RedirectTarget Target { get; }
        public byte DeviceMask { get; }
        public string[] Os { get; }
        public ushort[] Countries { get; }
        public string[] Languages { get; }
        public string[] Query { get; }
        public long AfterMs { get; }
        public long BeforeMs { get; }

        public bool Holds(long nowMs, byte device, string? os, ushort country, ReadOnlySpan<char> language, ReadOnlySpan<char> query)
        {
            if (nowMs < AfterMs || nowMs >= BeforeMs || (DeviceMask != 0 && (DeviceMask & device) == 0))
            {
                return false;
            }

            if (Os.Length > 0 && !Contains(Os, os))
            {
                return false;
            }

            if (Countries.Length > 0 && (country == 0 || Array.IndexOf(Countries, country) < 0))
            {
                return false;
            }

            if (Languages.Length > 0 && !LanguageMatches(language))
            {
                return false;
            }

            foreach (var pair in Query)
            {
                if (!HasParameter(query, pair))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool Contains(string[] words, string? word)
        {
            foreach (var candidate in words)
            {
                if (string.Equals(candidate, word, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        // "de" matches de and de-CH; "de-CH" only de-CH.
        private bool LanguageMatches(ReadOnlySpan<char> language)
        {
            foreach (var wanted in Languages)
            {
                if (language.StartsWith(wanted, StringComparison.OrdinalIgnoreCase)
                    && (language.Length == wanted.Length || language[wanted.Length] == '-'))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
