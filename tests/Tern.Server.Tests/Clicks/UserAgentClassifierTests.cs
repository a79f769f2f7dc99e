using Tern.Server.Clicks;

namespace Tern.Server.Tests.Clicks;

public sealed class UserAgentClassifierTests
{
    private const string AndroidPhoneChrome =
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/153.0.0.0 Mobile Safari/537.36";
    private const string AndroidTabletChrome =
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/153.0.0.0 Safari/537.36";
    private const string IPhoneSafari =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

    public static TheoryData<int, string, string, string, bool, string> Corpus()
    {
        var data = new TheoryData<int, string, string, string, bool, string>();
        foreach (var e in UserAgentCorpus.Entries)
        {
            data.Add(e.Line, e.Device, e.Browser, e.Os, e.IsBot, e.UserAgent);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void ClassifiesEachCorpusLineAsLabelled(int line, string device, string browser, string os, bool isBot, string userAgent)
    {
        Assert.True(line > 0);
        Assert.Equal(new UserAgentInfo(device, browser, os, isBot), UserAgentClassifier.Classify(userAgent));
    }

    [Fact]
    public void CorpusIsLargeAndCoversEveryDeviceCategoryAndManyBots()
    {
        var entries = UserAgentCorpus.Entries;

        Assert.True(entries.Count >= 250, $"the corpus holds {entries.Count} lines");
        Assert.Equal(["bot", "desktop", "mobile", "other", "tablet"], entries.Select(e => e.Device).Distinct().Order(StringComparer.Ordinal));
        Assert.True(entries.Count(e => e.IsBot) >= 40);
        Assert.All(entries, e => Assert.Equal(e.Device == "bot", e.IsBot));
        Assert.Equal(entries.Count, entries.Select(e => e.UserAgent).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "Slackbot")]
    [InlineData("Twitterbot/1.0", "Twitterbot")]
    [InlineData("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "facebookexternalhit")]
    [InlineData("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "LinkedInBot")]
    [InlineData("WhatsApp/2.23.20.0", "WhatsApp")]
    [InlineData("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Discordbot")]
    [InlineData("TelegramBot (like TwitterBot)", "TelegramBot")]
    public void ClassifiesLinkPreviewFetchersAsBots(string userAgent, string family)
    {
        Assert.Equal(new UserAgentInfo("bot", family, "Other", true), UserAgentClassifier.Classify(userAgent));
    }

    [Fact]
    public void TellsAndroidTabletsFromAndroidPhones()
    {
        Assert.Equal(new UserAgentInfo("mobile", "Chrome", "Android", false), UserAgentClassifier.Classify(AndroidPhoneChrome));
        Assert.Equal(new UserAgentInfo("tablet", "Chrome", "Android", false), UserAgentClassifier.Classify(AndroidTabletChrome));
    }

    [Fact]
    public void KnowsATabletByItsModelEvenWhenItsBrowserSaysMobile()
    {
        const string galaxyTab = "Mozilla/5.0 (Linux; Android 9; SAMSUNG SM-T395) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/16.2 Chrome/92.0.4515.166 Mobile Safari/537.36";
        Assert.Equal("tablet", UserAgentClassifier.Classify(galaxyTab).Device);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void NullOrEmptyUserAgentIsOther(string? userAgent)
    {
        Assert.Equal(new UserAgentInfo("other", "Other", "Other", false), UserAgentClassifier.Classify(userAgent));
    }

    [Theory]
    [InlineData("Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36")]
    [InlineData("Mozilla/5.0 (Linux; Android 12; CUBOT NOTE 20 Build/SP1A.210812.016) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Mobile Safari/537.36")]
    [InlineData("Mozilla/5.0 (iPhone; CPU iPhone OS 11_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15G77 [FBAN/FBIOS;FBAV/194.0.0.38.99;FBCR/OrangeBotswana;FBID/phone]")]
    public void DoesNotTakeAPhoneMakerOrCarrierSpellingBotForABot(string userAgent)
    {
        var info = UserAgentClassifier.Classify(userAgent);
        Assert.False(info.IsBot);
        Assert.Equal("mobile", info.Device);
    }

    [Theory]
    [InlineData("Ruby")]
    [InlineData("PHP/5.2.13")]
    [InlineData("NewRelicPinger/1.0 (1025794)")]
    [InlineData("Mozilla/5.0 (compatible; Google-InspectionTool/1.0)")]
    public void CountsAgentsThatNameNoSystemOrBrowserAsBots(string userAgent)
    {
        Assert.Equal(new UserAgentInfo("bot", "Other", "Other", true), UserAgentClassifier.Classify(userAgent));
    }

    [Theory]
    [InlineData("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)")]
    [InlineData("sqlmap/1.7.8#stable (https://sqlmap.org)")]
    [InlineData("Nuclei - Open-source project (github.com/projectdiscovery/nuclei)")]
    [InlineData("Mozilla/5.0 zgrab/0.x")]
    [InlineData("Mozilla/5.0 (Windows NT 6.1; WOW64) acunetix-product/wvs (Acunetix Web Vulnerability Scanner - Free Edition)")]
    public void CountsSecurityScannersAsBots(string userAgent)
    {
        Assert.True(UserAgentClassifier.Classify(userAgent).IsBot);
    }

    [Theory]
    [InlineData("Roku/DVP-9.10 (519.10E04111A)", "Other")]
    [InlineData("AppleTV11,1/11.1", "Other")]
    [InlineData("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15", "PlayStation")]
    [InlineData("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/46.0.2486.0 Safari/537.36 Edge/13.10586", "Xbox")]
    [InlineData("Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36", "Tizen")]
    public void CountsTelevisionsAndConsolesAsOtherDevicesNotBots(string userAgent, string os)
    {
        var info = UserAgentClassifier.Classify(userAgent);
        Assert.Equal("other", info.Device);
        Assert.Equal(os, info.Os);
        Assert.False(info.IsBot);
    }

    [Fact]
    public void NamesInAppBrowsersAfterTheirAppNotTheEngineTheyWrap()
    {
        const string instagram = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.21.106 (iPhone14,5; iOS 17_6; en_US; en; scale=3.00; 1170x2532; 643286367)";
        const string tiktok = "Mozilla/5.0 (Linux; Android 13; SM-A536E Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 musical_ly_2022803040 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/28.3.4 ByteLocale/pt-BR ByteFullLocale/pt-BR Region/BR";

        Assert.Equal(new UserAgentInfo("mobile", "Instagram", "iOS", false), UserAgentClassifier.Classify(instagram));
        Assert.Equal(new UserAgentInfo("mobile", "TikTok", "Android", false), UserAgentClassifier.Classify(tiktok));
        Assert.Equal(new UserAgentInfo("mobile", "Safari", "iOS", false), UserAgentClassifier.Classify(IPhoneSafari));
    }

    [Fact]
    public void NamesTheFirstFamilyWhenAStringGivesSeveral()
    {
        const string iMessage = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0";
        Assert.Equal("facebookexternalhit", UserAgentClassifier.Classify(iMessage).Browser);
        Assert.Equal("TelegramBot", UserAgentClassifier.Classify("TelegramBot (like TwitterBot)").Browser);
    }

    [Fact]
    public void CountsAnIPadAskingForDesktopSitesAsAMacBecauseItSaysExactlyThat()
    {
        const string iPadDesktopMode = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
        Assert.Equal(new UserAgentInfo("desktop", "Safari", "macOS", false), UserAgentClassifier.Classify(iPadDesktopMode));
    }

    [Fact]
    public void ReturnsTheSameConstantStringsForEveryClick()
    {
        var first = UserAgentClassifier.Classify(AndroidPhoneChrome);
        var second = UserAgentClassifier.Classify(AndroidTabletChrome);
        Assert.Same(first.Browser, second.Browser);
        Assert.Same(first.Os, second.Os);
    }

    [Fact]
    public void ClassifyingAllocatesNothing()
    {
        var agents = UserAgentCorpus.Entries.Select(e => e.UserAgent).ToArray();
        Classify(agents);

        var before = GC.GetAllocatedBytesForCurrentThread();
        Classify(agents);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void Classify(string[] agents)
        {
            for (var i = 0; i < agents.Length; i++)
            {
                UserAgentClassifier.Classify(agents[i]);
            }
        }
    }
}

/// <summary>
/// <c>user-agents.tsv</c>, read from the source tree (found by walking up to <c>Tern.slnx</c>) so that
/// the corpus is one file that reviewers edit and the tests read, with no copy in the build output.
/// </summary>
internal static class UserAgentCorpus
{
    public static IReadOnlyList<Entry> Entries { get; } = Load();

    public sealed record Entry(int Line, string Device, string Browser, string Os, bool IsBot, string UserAgent);

    private static List<Entry> Load()
    {
        var lines = File.ReadAllLines(Locate());
        var entries = new List<Entry>();
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i];
            if (text.Length == 0 || text.StartsWith('#') || text.StartsWith("device\t", StringComparison.Ordinal))
            {
                continue;
            }

            var fields = text.Split('\t');
            if (fields.Length != 5)
            {
                throw new InvalidDataException($"user-agents.tsv line {i + 1}: expected 5 tab-separated fields, found {fields.Length}.");
            }

            entries.Add(new Entry(i + 1, fields[0], fields[1], fields[2], bool.Parse(fields[3]), fields[4]));
        }

        return entries;
    }

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tern.slnx")))
            {
                return Path.Combine(dir.FullName, "tests", "Tern.Server.Tests", "Clicks", "user-agents.tsv");
            }
        }

        throw new FileNotFoundException("No Tern.slnx above " + AppContext.BaseDirectory);
    }
}
