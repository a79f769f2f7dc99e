using System.Net;
using Tern.Server.Clicks;
using Tern.Server.Redirect;

namespace Tern.Bench;

/// <summary>
/// Realistic click headers, drawn with fixed weights from a seeded generator so that runs are comparable:
/// current desktop and mobile browsers and in-app browsers (and, unless <c>browsersOnly</c>, about 4 % crawlers and
/// link-preview fetchers), referrers from search, social and mail (40 % none), countries as a CDN's country
/// header sends them, Accept-Language values and client addresses (only used in memory by Tern).
/// </summary>
public sealed class TrafficMix
{
    private static readonly (string Agent, int Weight)[] Browsers =
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 180),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 50),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 30),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 50),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 50),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 10),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 200),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 60),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", 20),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22B83 Instagram 356.0.0.22.91 (iPhone15,3; iOS 18_1; en_US; en; scale=3.00; 1290x2796; 654398735)", 30),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/22B83 [FBAN/FBIOS;FBAV/489.0.0.34.109;FBBV/660123456;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/18.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]", 20),
        ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 160),
        ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", 30),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36", 20),
        ("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 20),
        ("Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 10),
    ];

    private static readonly (string Agent, int Weight)[] Crawlers =
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 10),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", 10),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", 5),
        ("WhatsApp/2.23.20.0", 5),
        ("Twitterbot/1.0", 5),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 5),
    ];

    private static readonly (string? Referrer, int Weight)[] Referrers =
    [
        (null, 400),
        ("https://www.google.com/", 120),
        ("https://www.google.de/", 20),
        ("https://www.bing.com/search?q=brand+loyalty", 10),
        ("https://duckduckgo.com/", 10),
        ("https://t.co/Ab3dE5fGh1", 60),
        ("https://www.facebook.com/", 50),
        ("https://m.facebook.com/story.php?story_fbid=1234567890&id=100", 20),
        ("https://l.instagram.com/", 50),
        ("https://www.linkedin.com/feed/", 40),
        ("https://mail.google.com/", 60),
        ("https://outlook.live.com/", 30),
        ("https://www.reddit.com/r/deals/comments/abc123/spring_sale/", 30),
        ("https://news.ycombinator.com/item?id=42000000", 10),
        ("android-app://com.slack/", 20),
        ("https://brand.example/newsletter/2025-03", 20),
        ("https://partner-blog.example/reviews/best-loyalty-programs", 20),
        ("https://www.youtube.com/", 30),
    ];

    private static readonly (string? Country, int Weight)[] Countries =
    [
        ("US", 300), ("GB", 70), ("DE", 80), ("FR", 50), ("ES", 30), ("IT", 30), ("NL", 20), ("CA", 40), ("AU", 20),
        ("BR", 50), ("MX", 30), ("IN", 60), ("JP", 30), ("KR", 10), ("PL", 15), ("SE", 10), ("CH", 10), ("AT", 10),
        ("BE", 10), ("IE", 8), ("PT", 8), ("TR", 15), ("ID", 15), ("PH", 10), ("NG", 10), ("ZA", 8), ("AR", 8),
        ("CO", 8), ("SG", 5), ("NZ", 5), ("XX", 5), (null, 20),
    ];

    private static readonly (string? Language, int Weight)[] Languages =
    [
        ("en-US,en;q=0.9", 400), ("en-GB,en;q=0.9", 60), ("de-DE,de;q=0.9,en;q=0.8", 80), ("fr-FR,fr;q=0.9,en;q=0.8", 50),
        ("es-ES,es;q=0.9", 50), ("pt-BR,pt;q=0.9,en;q=0.8", 50), ("ja-JP,ja;q=0.9", 30), ("it-IT,it;q=0.9", 30),
        ("nl-NL,nl;q=0.9,en;q=0.8", 20), ("en", 30), (null, 40),
    ];

    private readonly string[] _agents;
    private readonly string?[] _referrers;
    private readonly string?[] _countries;
    private readonly string?[] _languages;
    private readonly IPAddress[] _addresses;
    private readonly Random _random;

    public TrafficMix(int seed, bool browsersOnly = false)
    {
        _random = new Random(seed);
        _agents = Expand(browsersOnly ? Browsers : [.. Browsers, .. Crawlers]);
        _referrers = Expand(Referrers);
        _countries = Expand(Countries);
        _languages = Expand(Languages);
        _addresses = [.. Enumerable.Range(0, 4096).Select(i => new IPAddress([(byte)(20 + (i % 180)), (byte)(i * 7), (byte)(i * 13), (byte)(1 + (i % 250))]))];
    }

    public string Agent() => _agents[_random.Next(_agents.Length)];

    public string? Referrer() => _referrers[_random.Next(_referrers.Length)];

    /// <summary>One click on <paramref name="link"/> at <paramref name="timestampMs"/> as the redirect path would capture it.</summary>
    public ClickCapture Capture(CachedLink link, long timestampMs) => new(
        link.Id, link.WorkspaceId, link.Domain, link.Slug, link.MaxClicks != long.MaxValue, timestampMs, Agent(), Referrer(), _languages[_random.Next(_languages.Length)], _countries[_random.Next(_countries.Length)],
        _addresses[_random.Next(_addresses.Length)], null);

    public int Next(int max) => _random.Next(max);

    public long NextLong(long max) => _random.NextInt64(max);

    private static T[] Expand<T>((T Value, int Weight)[] weighted) =>
        [.. weighted.SelectMany(w => Enumerable.Repeat(w.Value, w.Weight))];
}
