using System.Buffers;

namespace Tern.Server.Clicks;

/// <summary>What a click's User-Agent says about the client.</summary>
/// <param name="Device"><c>desktop</c>, <c>mobile</c>, <c>tablet</c>, <c>bot</c> or <c>other</c> (TVs, consoles, unknown).</param>
/// <param name="Browser">A browser family, an in-app browser named after its app, a bot family, or <c>Other</c>.</param>
/// <param name="Os">An operating-system family or <c>Other</c>; always <c>Other</c> for bots, whose claimed platform is costume.</param>
public readonly record struct UserAgentInfo(string Device, string Browser, string Os, bool IsBot);

/// <summary>
/// Sorts a User-Agent into device category, browser and OS family, and tells bots apart: crawlers, link-preview
/// fetchers (which fetch a short link whenever someone pastes it), HTTP libraries, headless browsers and scanners.
/// Cost model: ordinal span searches over at most the first 1 KiB, no regex, no allocation; every result is a
/// constant string. Tested against <c>tests/Tern.Server.Tests/Clicks/user-agents.tsv</c>, a corpus of real strings.
/// </summary>
/// <remarks>
/// iPadOS 13 and later ask for desktop sites with the Mac Safari string, so those iPads count as macOS desktops:
/// nothing in the header tells them apart. Other iPads report iOS; their device category already says tablet.
/// </remarks>
public static class UserAgentClassifier
{
    private const string Desktop = "desktop";
    private const string Mobile = "mobile";
    private const string Tablet = "tablet";
    private const string Bot = "bot";
    private const string OtherDevice = "other";
    private const string Other = "Other";

    private const string Ios = "iOS";
    private const string Android = "Android";
    private const string FireOs = "Fire OS";
    private const string HarmonyOs = "HarmonyOS";
    private const string Windows = "Windows";
    private const string MacOs = "macOS";
    private const string Linux = "Linux";
    private const string ChromeOs = "ChromeOS";
    private const string PlayStation = "PlayStation";
    private const string Xbox = "Xbox";
    private const string Nintendo = "Nintendo";

    // Real clients fit well inside this; an attacker's 30 KB header is not searched past it.
    private const int MaxExamined = 1024;

    private static readonly UserAgentInfo Unknown = new(OtherDevice, Other, Other, false);
    private static readonly UserAgentInfo UnnamedBot = new(Bot, Other, Other, true);

    // Searched anywhere; where several occur, the first in the string names the family, so
    // "TelegramBot (like TwitterBot)" is Telegram and iMessage's "facebookexternalhit/1.1 Facebot Twitterbot/1.0" is Facebook's.
    private static readonly (string Token, string Family)[] NamedBots =
    [
        ("googlebot", "Googlebot"),
        ("bingbot", "Bingbot"), ("bingpreview", "Bingbot"), ("msnbot", "Bingbot"),
        ("slackbot", "Slackbot"), ("slack-imgproxy", "Slackbot"),
        ("twitterbot", "Twitterbot"),
        ("facebookexternalhit", "facebookexternalhit"),
        ("linkedinbot", "LinkedInBot"),
        ("discordbot", "Discordbot"),
        ("telegrambot", "TelegramBot"),
        ("skypeuripreview", "SkypeUriPreview"),
        ("pinterestbot", "Pinterestbot"), ("pinterest.com/bot", "Pinterestbot"),
        ("redditbot", "redditbot"),
        ("mastodon/", "Mastodon"),
        ("bluesky cardyb", "Bluesky"),
        ("embedly", "Embedly"),
        ("iframely", "Iframely"),
        ("applebot", "Applebot"),
        ("duckduckbot", "DuckDuckBot"),
        ("yandexbot", "YandexBot"), ("yandex.com/bots", "YandexBot"),
        ("baiduspider", "Baiduspider"),
        ("ahrefsbot", "AhrefsBot"),
        ("semrushbot", "SemrushBot"),
        ("gptbot", "GPTBot"),
        ("claudebot", "ClaudeBot"),
        ("perplexitybot", "PerplexityBot"),
        ("headlesschrome", "HeadlessChrome"),
    ];

    private static readonly SearchValues<string> NamedBotTokens =
        SearchValues.Create(Array.ConvertAll(NamedBots, b => b.Token), StringComparison.OrdinalIgnoreCase);

    // Recognised only at the start: "curl" inside "PHP-Curl-Class" or a crawler's self-description is not curl itself.
    private static readonly (string Prefix, string Family)[] LeadingBots =
    [
        ("curl", "curl"), ("Wget", "Wget"), ("python-requests", "python-requests"), ("Go-http-client", "Go-http-client"),
        ("okhttp", "okhttp"), ("Java", "Java"), ("PostmanRuntime", "PostmanRuntime"), ("WhatsApp", "WhatsApp"),
    ];

    // Words no person's browser sends. Kept in sets of at most 16: as one set of 60 they searched a typical browser
    // string over twice as slowly. "bot" is looked for separately because of phone makers like CUBOT.
    private static readonly SearchValues<string>[] AutomationWords =
    [
        // Crawler vocabulary, and URLs and addresses, which browsers never carry.
        SearchValues.Create(
            ["crawl", "spider", "scan", "preview", "fetch", "slurp", "archiver", "http://", "https://", "mailto:", "google-", "googleother"],
            StringComparison.OrdinalIgnoreCase),
        // Browser automation, monitors and site checkers.
        SearchValues.Create(
            ["headless", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver", "lighthouse", "pingdom", "statuscake",
             "monitor", "uptime", "synthetics", "gtmetrix", "check", "inspector", "validator"],
            StringComparison.OrdinalIgnoreCase),
        // HTTP libraries and command-line clients.
        SearchValues.Create(
            ["http-client", "httpclient", "http.rb", "python", "libwww", "lwp::", "mechanize", "aiohttp", "axios/", "undici",
             "scrapy", "guzzle", "curl/", "wget", "dalvik/", "indy library"],
            StringComparison.OrdinalIgnoreCase),
        // Security and internet-wide scanners ("scan" above catches masscan, urlscan, WPScan and the like).
        SearchValues.Create(
            ["nmap", "nikto", "sqlmap", "nuclei", "zgrab", "censys", "shodan", "qualys", "acunetix", "burp", "expanse", "nessus",
             "openvas", "whatweb", "netcraft", "gobuster"],
            StringComparison.OrdinalIgnoreCase),
    ];

    private static readonly SearchValues<string> BigScreenTokens = SearchValues.Create(
    [
        "smarttv", "smart-tv", "smart tv", "hbbtv", "googletv", "google tv", "android tv", "androidtv", "bravia",
        "appletv", "apple tv", "roku", "crkey", "web0s", "netcast", "nettv", "(dtv", "tv safari",
    ], StringComparison.OrdinalIgnoreCase);

    // Tablets whose browser may still say "Mobile", and tablet-only markers on any system.
    private static readonly SearchValues<string> TabletTokens = SearchValues.Create(
    [
        "iPad", "PlayBook", "Kindle", "Silk/", "Nexus 7", "Nexus 9", "Nexus 10", "SM-T", "SM-X", "SM-P", "GT-P",
        "Lenovo TB", "Lenovo Tab", "MediaPad", "Galaxy Tab", "Xoom",
    ], StringComparison.Ordinal);

    private static readonly SearchValues<string> MobileTokens = SearchValues.Create(
    [
        "Mobi", "Phone", "iPod", "BlackBerry", "BB10", "Opera Mini", "Symbian", "SymbOS", "Series40", "Series60",
        "MIDP", "J2ME", "UP.Browser", "DoCoMo", "KAIOS",
    ], StringComparison.Ordinal);

    private static readonly SearchValues<string> AppleMobileTokens =
        SearchValues.Create(["iPhone", "iPad", "iPod"], StringComparison.Ordinal);

    /// <summary>A browser family and what names it: any of some tokens, and a condition on the string and the OS.</summary>
    private sealed record BrowserRule(string Family, SearchValues<string>? AnyOf, BrowserCondition? When = null);

    private delegate bool BrowserCondition(ReadOnlySpan<char> ua, string os);

    private static BrowserRule Rule(string family, params string[] anyOf) => new(family, SearchValues.Create(anyOf, StringComparison.Ordinal));

    private static bool AndroidLike(string os) => os is Android or FireOs;

    // The first rule that matches names the browser.
    private static readonly BrowserRule[] BrowserRules =
    [
        // In-app browsers first: each wraps a system engine whose own token would otherwise win.
        Rule("Instagram", "Instagram"),
        Rule("Facebook", "FBAN/", "FBAV/", "FB_IAB/"),
        Rule("LinkedIn", "LinkedInApp"),
        Rule("TikTok", "musical_ly", "BytedanceWebview", "TikTok"),
        Rule("Snapchat", "Snapchat"),
        Rule("Twitter", "Twitter"),
        Rule("Threads", "Barcelona "),
        Rule("Pinterest", "[Pinterest/"),

        // Browsers built on Chromium or WebKit also carry the engine's tokens, so they are looked for first.
        Rule("Edge", "Edg/", "EdgA/", "EdgiOS/", "Edge/"),
        Rule("Opera Mini", "Opera Mini", "OPiOS/"),
        Rule("Opera", "OPR/", "OPT/", "Opera"),
        Rule("Samsung Internet", "SamsungBrowser/"),
        Rule("Yandex Browser", "YaBrowser/"),
        Rule("UC Browser", "UCBrowser", "UCWEB"),
        Rule("Vivaldi", "Vivaldi/"),
        Rule("Huawei Browser", "HuaweiBrowser/"),
        Rule("Brave", "Brave"),
        Rule("DuckDuckGo", "Ddg/", "DuckDuckGo/"),

        // The PlayStation Vita's NetFront browser also says Silk.
        Rule("Silk", "Silk/") with { When = static (_, os) => os is not PlayStation },
        Rule("Google App", "GSA/"),
        Rule("Firefox", "Firefox/", "FxiOS/"),
        Rule("Chrome", "CriOS/"),
        new("Android WebView", null, static (ua, os) => AndroidLike(os) && (Has(ua, "; wv)") || (Has(ua, "Version/") && Has(ua, "Chrome/")))),
        Rule("Chrome", "Chrome/", "Chromium/", "CrMo/"),
        Rule("Internet Explorer", "MSIE ", "Trident/"),
        Rule("Android Browser", "Safari/") with { When = static (_, os) => AndroidLike(os) },

        // Safari runs on Apple's systems only; elsewhere "Safari/" is a WebKit browser copying the token.
        Rule("Safari", "Safari/") with { When = static (_, os) => os is Ios or MacOs },
    ];

    public static UserAgentInfo Classify(string? userAgent)
    {
        var ua = userAgent.AsSpan().Trim();
        if (ua.IsEmpty)
        {
            return Unknown;
        }

        if (ua.Length > MaxExamined)
        {
            ua = ua[..MaxExamined];
        }

        if (NamedBot(ua) is { } family)
        {
            return new(Bot, family, Other, true);
        }

        if (HasAutomationWord(ua) || HasBotWord(ua))
        {
            return UnnamedBot;
        }

        var os = OsOf(ua);
        var bigScreen = os is PlayStation or Xbox or Nintendo || ua.ContainsAny(BigScreenTokens) || HasAmazonModel(ua, "; AFT");
        var device = bigScreen ? OtherDevice : DeviceOf(ua, os);
        var browser = BrowserOf(ua, os);

        // Names no system, no screen and no browser: a script or library we have no word for ("Ruby", "PHP/5.2").
        return device == OtherDevice && os == Other && browser == Other && !bigScreen
            ? UnnamedBot
            : new(device, browser, os, false);
    }

    private static string? NamedBot(ReadOnlySpan<char> ua)
    {
        var at = ua.IndexOfAny(NamedBotTokens);
        if (at >= 0)
        {
            var rest = ua[at..];
            foreach (var (token, family) in NamedBots)
            {
                if (rest.StartsWith(token, StringComparison.OrdinalIgnoreCase))
                {
                    return family;
                }
            }
        }

        foreach (var (prefix, family) in LeadingBots)
        {
            if (ua.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && (ua.Length == prefix.Length || ua[prefix.Length] is '/' or ' '))
            {
                return family;
            }
        }

        return null;
    }

    private static bool HasAutomationWord(ReadOnlySpan<char> ua)
    {
        foreach (var words in AutomationWords)
        {
            if (ua.ContainsAny(words))
            {
                return true;
            }
        }

        return false;
    }

    // "Googlebot/2.1", "Catchpoint bot)", "AdsBot-Google" are bots; "CUBOT_X30" (a phone maker), "OrangeBotswana"
    // (a carrier in Facebook's suffix) and ".../robots" (a URL, caught elsewhere) are not.
    private static bool HasBotWord(ReadOnlySpan<char> ua)
    {
        for (var from = 0; from < ua.Length;)
        {
            var at = ua[from..].IndexOf("bot", StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return false;
            }

            at += from;
            var end = at + 3;
            var letterFollows = end < ua.Length && char.IsAsciiLetter(ua[end]);
            var cubot = at >= 2 && ua.Slice(at - 2, 2).Equals("cu", StringComparison.OrdinalIgnoreCase);
            if (!letterFollows && !cubot)
            {
                return true;
            }

            from = end;
        }

        return false;
    }

    // Order matters: systems that borrow another's name (KaiOS and Windows 10 Mobile say Android, iOS says
    // "like Mac OS X", Xbox says Windows) are looked for before the one they borrow.
    private static string OsOf(ReadOnlySpan<char> ua)
    {
        if (ua.ContainsAny(AppleMobileTokens))
        {
            return Ios;
        }

        if (Has(ua, "HarmonyOS") || Has(ua, "OpenHarmony"))
        {
            return HarmonyOs;
        }

        if (ua.Contains("kaios", StringComparison.OrdinalIgnoreCase))
        {
            return "KaiOS";
        }

        if (Has(ua, "Tizen"))
        {
            return "Tizen";
        }

        if (ua.Contains("web0s", StringComparison.OrdinalIgnoreCase) || ua.Contains("webos", StringComparison.OrdinalIgnoreCase))
        {
            return "webOS";
        }

        if (ua.Contains("playstation", StringComparison.OrdinalIgnoreCase))
        {
            return PlayStation;
        }

        if (Has(ua, "Xbox"))
        {
            return Xbox;
        }

        if (Has(ua, "Nintendo"))
        {
            return Nintendo;
        }

        if (Has(ua, "Windows Phone"))
        {
            return "Windows Phone";
        }

        if (Has(ua, "BlackBerry") || Has(ua, "BB10") || Has(ua, "RIM Tablet OS"))
        {
            return "BlackBerry";
        }

        if (Has(ua, "Kindle Fire") || Has(ua, "Silk/") || HasAmazonModel(ua, "; KF") || HasAmazonModel(ua, "; AFT"))
        {
            return FireOs;
        }

        if (Has(ua, "Android"))
        {
            return Android;
        }

        if (Has(ua, "CrOS"))
        {
            return ChromeOs;
        }

        if (Has(ua, "Windows"))
        {
            return Windows;
        }

        if (Has(ua, "Macintosh") || Has(ua, "Mac OS X") || Has(ua, "Mac_PowerPC"))
        {
            return MacOs;
        }

        return Has(ua, "Linux") ? Linux : Other;
    }

    // TVs and consoles are decided before this. Tablet models come before phones because some tablets' browsers
    // say "Mobile"; after them, an Android browser that says nothing phone-like is on a tablet.
    private static string DeviceOf(ReadOnlySpan<char> ua, string os)
    {
        if (ua.ContainsAny(TabletTokens) || HasTabletWord(ua) || os is FireOs)
        {
            return Tablet;
        }

        if (ua.ContainsAny(MobileTokens))
        {
            return Mobile;
        }

        if (os is Android or HarmonyOs)
        {
            return Tablet;
        }

        return (os is Windows or MacOs or Linux or ChromeOs) || Has(ua, "X11") ? Desktop : OtherDevice;
    }

    // "Android; Tablet;", "Opera Tablet/", "RIM Tablet OS", but not desktop Internet Explorer's "Tablet PC 2.0".
    private static bool HasTabletWord(ReadOnlySpan<char> ua)
    {
        var at = ua.IndexOf("Tablet", StringComparison.Ordinal);
        return at >= 0 && !ua[at..].StartsWith("Tablet PC", StringComparison.Ordinal);
    }

    private static string BrowserOf(ReadOnlySpan<char> ua, string os)
    {
        foreach (var rule in BrowserRules)
        {
            if ((rule.AnyOf is null || ua.ContainsAny(rule.AnyOf)) && (rule.When is null || rule.When(ua, os)))
            {
                return rule.Family;
            }
        }

        return Other;
    }

    private static bool HasAmazonModel(ReadOnlySpan<char> ua, string prefix)
    {
        var at = ua.IndexOf(prefix, StringComparison.Ordinal);
        var code = at + prefix.Length;
        return at >= 0 && code < ua.Length && char.IsAsciiLetterUpper(ua[code]);
    }

    private static bool Has(ReadOnlySpan<char> ua, string token) => ua.Contains(token, StringComparison.Ordinal);
}
