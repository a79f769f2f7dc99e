using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;

namespace Tern.Server.Tests.Clicks;

public sealed class ClickPipelineUnitTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 10, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("de-CH,de;q=0.9,en;q=0.8", "de-CH")]
    [InlineData("en", "en")]
    [InlineData(" fr-FR ;q=1", "fr-FR")]
    [InlineData("*", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    [InlineData("<script>", null)]
    public void TakesThePrimaryLanguageTag(string? header, string? expected) =>
        Assert.Equal(expected, ClickEnricher.PrimaryLanguage(header));

    [Theory]
    [InlineData("https://News.Example/article?id=1", "news.example")]
    [InlineData("android-app://com.google.android.gm/", "com.google.android.gm")]
    [InlineData("not a url", null)]
    [InlineData("/relative", null)]
    [InlineData("", null)]
    public void KeepsTheReferrersHost(string referrer, string? host) =>
        Assert.Equal(host, ClickEnricher.Referrer(referrer).Host);

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("with,comma", "\"with,comma\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"")]
    [InlineData("+1", "'+1")]
    [InlineData("@cmd", "'@cmd")]
    public void QuotesCsvCellsAndDefusesFormulas(string value, string expected) =>
        Assert.Equal(expected, Tern.Server.Hosting.CsvText.Cell(value));

    [Theory]
    [InlineData(1, "hour", 25)]
    [InlineData(2, "hour", 49)]
    [InlineData(30, "day", 31)]
    [InlineData(92, "day", 93)]
    [InlineData(365, "week", 53)]
    [InlineData(1000, "month", 34)]
    public void ChoosesAnIntervalThatFitsTheRange(int days, string interval, int points)
    {
        var errors = new Dictionary<string, string[]>();
        var query = StatsQuery.Parse(Now.AddDays(-days).ToString("O"), Now.ToString("O"), null, Now, errors)!;
        Assert.Equal(interval, query.Interval);
        Assert.InRange(query.Buckets().Count(), points - 1, points + 1);
    }

    [Fact]
    public void WeeksStartOnMondayInUtc()
    {
        var query = new StatsQuery(0, 1, "week");
        var thursday = new DateTimeOffset(2026, 11, 26, 23, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), query.BucketOf(thursday));
    }

    [Theory]
    [InlineData("yesterday", null, "from")]
    [InlineData(null, "soon", "to")]
    [InlineData("2026-11-27T00:00:00Z", "2026-11-26T00:00:00Z", "from")]
    [InlineData("2000-01-01T00:00:00Z", "2026-11-26T00:00:00Z", "from")]
    public void RefusesBadRanges(string? from, string? to, string field)
    {
        var errors = new Dictionary<string, string[]>();
        Assert.Null(StatsQuery.Parse(from, to, null, Now, errors));
        Assert.True(errors.ContainsKey(field));
    }

    /// <summary>A click of link lnk_1 in workspace ws_1, from Safari on an iPhone in Switzerland, now.</summary>
    private static Click SafariClick => new()
    {
        Id = "clk_x",
        WorkspaceId = "ws_1",
        LinkId = "lnk_1",
        Slug = "s",
        Domain = "d",
        TimestampMs = Now.ToUnixTimeMilliseconds(),
        Device = "mobile",
        Browser = "Safari",
        Os = "iOS",
        Country = "CH",
        IsBot = false,
    };

    [Fact]
    public void EachClickAddsOneToEveryCellOfItsLinkAndWorkspace()
    {
        var rollups = ClickFolder.Sum([SafariClick, SafariClick with { Country = null }], (_, _) => true);

        var hour = Now.ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        Assert.Equal(2, rollups[new RollupKey("lnk_1", 'h', hour, "total", "")]);
        Assert.Equal(1, rollups[new RollupKey("ws_1", 'd', hour / 86_400_000 * 86_400_000, "country", "CH")]);
        Assert.Equal(1, rollups[new RollupKey("ws_1", 'h', hour, "country", "")]);
        Assert.Equal(2, rollups[new RollupKey("ws_1", 'h', hour, "link", "lnk_1")]);
        Assert.DoesNotContain(rollups.Keys, k => k.ScopeId == "lnk_1" && k.Dimension == "link");
    }

    [Fact]
    public void AClickOfALinkWithoutCellsOfItsOwnAddsToItsWorkspacesCellsAlone()
    {
        var click = SafariClick with { Destination = "https://example.com/a" };

        var alone = ClickFolder.Sum([click], (_, _) => false);
        var withOwn = ClickFolder.Sum([click], (_, _) => true);

        Assert.All(alone.Keys, k => Assert.Equal("ws_1", k.ScopeId));
        Assert.Equal(14, alone.Count);
        Assert.Equal(ClickStore.LinkCells.Length, withOwn.Keys.Count(k => k.ScopeId == "lnk_1"));
        Assert.Equal(1, withOwn[new RollupKey("lnk_1", 'd', Now.ToUnixTimeMilliseconds() / 86_400_000 * 86_400_000, "destination", "https://example.com/a")]);
    }

    [Fact]
    public async Task AFullQueuePushesBackUntilTheWriterTakesAClick()
    {
        var queue = new ClickQueue(Options.Create(new ClickOptions { QueueCapacity = 1000 }));
        var capture = new ClickCapture("lnk_1", "ws_1", "t.example", "s", false, 0, null, null, null, null, null, null);
        for (var i = 0; i < 1000; i++)
        {
            var enqueued = queue.EnqueueAsync(capture, CancellationToken.None).AsTask();
            Assert.True(enqueued.IsCompletedSuccessfully);
        }

        var waiting = queue.EnqueueAsync(capture, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1000, queue.Depth);

        Assert.True(queue.Reader.TryRead(out _));
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1001, queue.Enqueued);
    }
}
