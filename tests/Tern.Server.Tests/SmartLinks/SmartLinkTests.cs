using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using StbImageSharp;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Redirect;
using Tern.Server.Tests.Infrastructure;
using ZXing;
using ZXing.Common;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.SmartLinks;

/// <summary>A server on a clock the test moves (a day behind the real one), trusting a CDN's country header.</summary>
public sealed class SmartTern : TernFactory
{
    public SmartTern() => Clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-1));

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Geo:CountryHeader", "CF-IPCountry")];
}

public sealed class PostgresSmartTern : PostgresTernFactory
{
    public PostgresSmartTern() => Clock = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(-1));

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Geo:CountryHeader", "CF-IPCountry")];
}

public abstract class SmartLinkTests(TernFactory tern)
{
    public const string IPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    public const string WindowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    public const string AndroidTablet = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    private readonly HttpClient _api = tern.Api();
    private FakeTimeProvider Clock => tern.Clock!;

    [Fact]
    public async Task BeforeStartsAtTheLinkGoesToItsPrelaunchUrlCountsNoClickAndGoesLiveOnTime()
    {
        var startsAt = Clock.GetUtcNow().AddHours(1);
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/launch", slug = UniqueSlug(), startsAt, prelaunchUrl = "https://example.com/soon" });

        Assert.Equal("https://example.com/soon", await LocationAsync(link.Slug));
        Clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal("https://example.com/soon", await LocationAsync(link.Slug));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Empty(await ClicksAsync(link.Id));

        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("https://example.com/launch", await LocationAsync(link.Slug));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Single(await ClicksAsync(link.Id));
    }

    [Fact]
    public async Task BeforeStartsAtWithoutAPrelaunchUrlTheLinkAnswersNotLiveYet()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/launch", slug = UniqueSlug(), startsAt = Clock.GetUtcNow().AddDays(1) });

        var response = await tern.Visitor().GetAsync("/" + link.Slug);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("Not live yet", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachRuleConditionDecidesTheDestination()
    {
        var now = Clock.GetUtcNow();
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/default",
            slug = UniqueSlug(),
            forwardQuery = false,
            rules = new object[]
            {
                new { when = new { query = new Dictionary<string, string> { ["src"] = "mail list" } }, url = "https://example.com/query" },
                new { when = new { before = now.AddHours(-1) }, url = "https://example.com/past" },
                new { when = new { after = now.AddHours(1) }, url = "https://example.com/future" },
                new { when = new { country = new[] { "de", "AT" } }, url = "https://example.com/dach" },
                new { when = new { language = new[] { "fr" } }, url = "https://example.com/french" },
                new { when = new { device = new[] { "tablet" } }, url = "https://example.com/tablet" },
                new { when = new { os = new[] { "ios" } }, url = "https://example.com/app-store" },
                new { when = new { device = new[] { "desktop" }, os = new[] { "Windows" } }, url = "https://example.com/windows" },
            },
        });

        Assert.Equal("https://example.com/query", await LocationAsync(link.Slug + "?src=mail%20list", WindowsChrome));
        Assert.Equal("https://example.com/dach", await LocationAsync(link.Slug, WindowsChrome, country: "DE"));
        Assert.Equal("https://example.com/dach", await LocationAsync(link.Slug, IPhone, country: "at"));
        Assert.Equal("https://example.com/french", await LocationAsync(link.Slug, IPhone, language: "fr-CA,fr;q=0.9,en;q=0.5"));
        Assert.Equal("https://example.com/tablet", await LocationAsync(link.Slug, AndroidTablet));
        Assert.Equal("https://example.com/app-store", await LocationAsync(link.Slug, IPhone, language: "en-US", country: "US"));
        Assert.Equal("https://example.com/windows", await LocationAsync(link.Slug, WindowsChrome, language: "francais"));
        Assert.Equal("https://example.com/default", await LocationAsync(link.Slug, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"));

        Clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal("https://example.com/future", await LocationAsync(link.Slug, WindowsChrome));
    }

    [Fact]
    public async Task TheFirstMatchingRuleWinsAndUtmsAndTheVisitorsQueryApplyToIt()
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/default",
            slug = UniqueSlug(),
            utm = new { source = "poster" },
            rules = new object[]
            {
                new { when = new { device = new[] { "mobile" } }, url = "https://example.com/mobile#top" },
                new { when = new { os = new[] { "iOS" } }, url = "https://example.com/ios" },
            },
        });

        Assert.Equal("https://example.com/mobile?utm_source=poster&ref=x#top", await LocationAsync(link.Slug + "?ref=x", IPhone));
        Assert.Equal("https://example.com/default?utm_source=poster&ref=x", await LocationAsync(link.Slug + "?ref=x", WindowsChrome));
    }

    [Fact]
    public async Task AVisitorKeepsTheirVariantAndClicksRecordWhatDecidedThem()
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/default",
            slug = UniqueSlug(),
            rules = new[] { new { when = new { country = new[] { "JP" } }, url = "https://example.com/japan" } },
            variants = new[] { new { url = "https://example.com/a", weight = 50 }, new { url = "https://example.com/b", weight = 50 } },
        });

        var seen = new Dictionary<string, int>();
        for (var visitor = 0; visitor < 40; visitor++)
        {
            var address = $"203.0.113.{visitor}";
            var first = await LocationAsync(link.Slug, WindowsChrome, forwardedFor: address);
            Assert.Equal(first, await LocationAsync(link.Slug, WindowsChrome, forwardedFor: address));
            seen[first!] = seen.GetValueOrDefault(first!) + 2;
        }

        Assert.Equal("https://example.com/japan", await LocationAsync(link.Slug + "?qr=1", WindowsChrome, country: "JP"));
        Assert.Equal(["https://example.com/a", "https://example.com/b"], seen.Keys.Order());
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var clicks = await ClicksAsync(link.Id);
        Assert.Equal(81, clicks.Count);
        var japan = Assert.Single(clicks, c => c.RuleIndex is not null);
        Assert.Equal((0, (int?)null, "https://example.com/japan", "qr"), (japan.RuleIndex!.Value, japan.Variant, japan.Destination, japan.Source));
        Assert.All(clicks.Where(c => c.RuleIndex is null),
            c => Assert.Equal(c.Destination, c.Variant == 0 ? "https://example.com/a" : "https://example.com/b"));

        var stats = (await _api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", Json))!;
        Assert.Equal(
            seen.Select(s => (s.Key, (long)s.Value)).Append(("https://example.com/japan", 1L)).OrderBy(d => d.Item1),
            stats.Destinations!.Select(d => (d.Key!, d.Clicks)).OrderBy(d => d.Item1));
    }

    [Fact]
    public async Task AQrCodeDecodesToTheShortUrlAndAScanIsCountedAsQrWithoutForwardingTheMarker()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/poster", slug = UniqueSlug() });

        var png = await _api.GetAsync($"/api/v1/links/{link.Id}/qr?format=png&size=6&ecc=H&fg=1f2937");
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        var image = ImageResult.FromMemory(await png.Content.ReadAsByteArrayAsync(), ColorComponents.RedGreenBlueAlpha);
        var reader = new BarcodeReaderGeneric { Options = new DecodingOptions { PossibleFormats = [BarcodeFormat.QR_CODE], TryHarder = true } };
        var decoded = reader.Decode(new RGBLuminanceSource(image.Data, image.Width, image.Height, RGBLuminanceSource.BitmapFormat.RGBA32));
        Assert.Equal(link.ShortUrl + "?qr=1", decoded?.Text);

        var svg = await _api.GetAsync($"/api/v1/links/{link.Id}/qr");
        Assert.Equal("image/svg+xml", svg.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<svg", await svg.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal("https://example.com/poster", await LocationAsync(new Uri(decoded!.Text).PathAndQuery.TrimStart('/')));
        Assert.Equal("https://example.com/poster?ref=a", await LocationAsync(link.Slug + "?qr=1&ref=a"));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.All(await ClicksAsync(link.Id), c => Assert.Equal("qr", c.Source));

        var refused = await (await _api.GetAsync($"/api/v1/links/{link.Id}/qr?format=gif&size=0&ecc=X&fg=red")).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["ecc", "fg", "format", "size"], refused["errors"]!.AsObject().Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")]
    [InlineData("Twitterbot/1.0")]
    [InlineData("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)")]
    [InlineData("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)")]
    [InlineData("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")]
    [InlineData("WhatsApp/2.23.20.0")]
    [InlineData("TelegramBot (like TwitterBot)")]
    [InlineData("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0")]
    public async Task ALinkPreviewBotGetsTheCardWithEncodedTags(string userAgent)
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/sale",
            slug = UniqueSlug(),
            preview = new { title = "Winter \"sale\" <50%>", description = "All & more", image = "https://cdn.example.com/card.png" },
        });

        var response = await Visit(link.Slug, userAgent);
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<meta property=\"og:title\" content=\"Winter &quot;sale&quot; &lt;50%&gt;\">", page, StringComparison.Ordinal);
        Assert.Contains("<meta name=\"twitter:image\" content=\"https://cdn.example.com/card.png\">", page, StringComparison.Ordinal);
        Assert.Contains("content=\"All &amp; more\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("example.com/sale", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PeopleGetTheRedirectOfALinkWithAPreviewAndBotsTheRedirectOfALinkWithout()
    {
        var withPreview = await _api.CreateLinkAsync(new { url = "https://example.com/sale", slug = UniqueSlug(), preview = new { title = "Sale" } });
        var plain = await _api.CreateLinkAsync(new { url = "https://example.com/plain", slug = UniqueSlug() });

        Assert.Equal("https://example.com/sale", await LocationAsync(withPreview.Slug, IPhone));
        Assert.Equal("https://example.com/sale", await LocationAsync(withPreview.Slug, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
        Assert.Equal("https://example.com/plain", await LocationAsync(plain.Slug, "Twitterbot/1.0"));
    }

    [Fact]
    public async Task APasswordLinkShowsAFormRedirectsOnTheRightPasswordAndLimitsGuesses()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/private", slug = UniqueSlug(), password = "open sesame" });
        Assert.True(link.HasPassword);
        Assert.DoesNotContain("open sesame", await (await _api.GetAsync($"/api/v1/links/{link.Id}")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var form = await Visit(link.Slug);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Null(form.Headers.Location);
        Assert.Contains("type=\"password\"", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var wrong = await Guess(link.Slug, "abracadabra");
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Contains("Wrong password", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var right = await Guess(link.Slug, "open sesame");
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal("https://example.com/private", right.Headers.Location?.OriginalString);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Single(await ClicksAsync(link.Id));

        for (var i = 2; i < PasswordAttempts.PerWindow; i++)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await Guess(link.Slug, "guess" + i)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await Guess(link.Slug, "open sesame")).StatusCode);
        var other = await _api.CreateLinkAsync(new { url = "https://example.com/other", slug = UniqueSlug(), password = "pw" });
        Assert.Equal(HttpStatusCode.SeeOther, (await Guess(other.Slug, "pw")).StatusCode);
    }

    [Fact]
    public async Task APostThatIsNoPasswordFormIsRefusedWithAProblem()
    {
        var locked = await _api.CreateLinkAsync(new { url = "https://example.com/private", slug = UniqueSlug(), password = "pw" });
        var plain = await _api.CreateLinkAsync(new { url = "https://example.com/plain", slug = UniqueSlug() });

        await (await tern.Visitor().PostAsJsonAsync("/" + locked.Slug, new { password = "pw" })).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        await (await Guess(plain.Slug, "pw")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
        await (await Guess(UniqueSlug("none"), "pw")).AssertProblemAsync(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task ChangingRulesVariantsAndThePasswordByPatchIsSeenByTheNextRedirect()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/default", slug = UniqueSlug(), password = "pw" });
        var patched = await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new
        {
            password = (string?)null,
            rules = new[] { new { when = new { os = new[] { "iOS" } }, url = "https://example.com/ios" } },
        }, Json);
        var changed = await patched.ReadAsync<LinkResponse>();

        Assert.False(changed.HasPassword);
        Assert.Equal("https://example.com/ios", await LocationAsync(link.Slug, IPhone));

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { variants = new[] { new { url = "https://example.com/only", weight = 100 } } }, Json);
        Assert.Equal("https://example.com/only", await LocationAsync(link.Slug, WindowsChrome));
        Assert.Equal("https://example.com/ios", await LocationAsync(link.Slug, IPhone));

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { rules = (object?)null, variants = (object?)null }, Json);
        Assert.Equal("https://example.com/default", await LocationAsync(link.Slug, IPhone));
    }

    [Fact]
    public async Task RepeatingACreateWithSmartFieldsFindsTheLinkAndADifferentOneConflicts()
    {
        var body = new Dictionary<string, object?>
        {
            ["url"] = "https://example.com/x",
            ["slug"] = UniqueSlug(),
            ["rules"] = new[] { new { when = new { country = new[] { "de" } }, url = "https://example.com/de" } },
            ["variants"] = new[] { new { url = "https://example.com/a", weight = 30 }, new { url = "https://example.com/b", weight = 70 } },
            ["preview"] = new { title = "T" },
            ["password"] = "pw",
            ["startsAt"] = Clock.GetUtcNow().AddDays(-1),
        };
        Assert.Equal(HttpStatusCode.Created, (await _api.PostJsonAsync("/api/v1/links", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _api.PostJsonAsync("/api/v1/links", body)).StatusCode);

        body["password"] = "other";
        Assert.Equal(HttpStatusCode.Conflict, (await _api.PostJsonAsync("/api/v1/links", body)).StatusCode);
    }

    [Fact]
    public async Task BulkAndUpsertTakeTheSmartFields()
    {
        var externalId = UniqueSlug("ext");
        var upserted = await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}", new
        {
            url = "https://example.com/x",
            rules = new[] { new { when = new { language = new[] { "de" } }, url = "https://example.com/de" } },
        }, Json);
        var link = await upserted.ReadAsync<LinkResponse>();
        Assert.Equal("https://example.com/de", Assert.Single(link.Rules!).Url);
        Assert.Equal("https://example.com/de", await LocationAsync(link.Slug, IPhone, language: "de-DE"));

        var bulk = await _api.PostJsonAsync("/api/v1/links/bulk", new
        {
            items = new[] { new { url = "https://example.com/y", slug = UniqueSlug(), variants = new[] { new { url = "https://example.com/v", weight = 100 } } } },
        });
        var created = (await bulk.ReadAsync<JsonObject>())["results"]![0]!["link"]!;
        Assert.Equal("https://example.com/v", await LocationAsync(created["slug"]!.GetValue<string>()));
    }

    [Fact]
    public async Task TheMatrixFillsPlaceholdersInRulesVariantsAndPreview()
    {
        var run = UniqueSlug("m");
        var response = await _api.PostJsonAsync("/api/v1/links/matrix", new
        {
            template = new
            {
                url = "https://example.com/{market}",
                slug = run + "-{market}",
                rules = new[] { new { when = new { os = new[] { "iOS" } }, url = "https://example.com/{market}/ios" } },
                variants = new[] { new { url = "https://example.com/{market}/a", weight = 100 } },
                preview = new { title = "Sale in {market}" },
            },
            dimensions = new Dictionary<string, string[]> { ["market"] = ["de", "fr"] },
        });

        var created = (await response.ReadAsync<BulkCreateResponse>()).Results.Select(r => r.Link!).OrderBy(l => l.Slug).ToList();
        Assert.Equal(["https://example.com/de/ios", "https://example.com/fr/ios"], created.Select(l => l.Rules![0].Url));
        Assert.Equal("https://example.com/fr/a", await LocationAsync(created[1].Slug));
        Assert.Equal("Sale in fr", created[1].Preview!.Title);
    }

    [Fact]
    public async Task LinkEventsCarryTheSmartFieldsButNeverThePassword()
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/x",
            slug = UniqueSlug(),
            rules = new[] { new { when = new { language = new[] { "de" } }, url = "https://example.com/de" } },
            password = "hunter2",
        });

        var events = await _api.GetFromJsonAsync<JsonObject>("/api/v1/events?type=link.created&limit=50", Json);
        var created = events!["items"]!.AsArray().Single(e => e!["data"]!["link"]!["id"]!.GetValue<string>() == link.Id)!;
        Assert.Equal("https://example.com/de", created["data"]!["link"]!["rules"]![0]!["url"]!.GetValue<string>());
        Assert.True(created["data"]!["link"]!["hasPassword"]!.GetValue<bool>());
        Assert.DoesNotContain("hunter2", created.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidSmartFieldsAreRefusedNamingEachProblem()
    {
        var response = await _api.PostJsonAsync("/api/v1/links", new
        {
            url = "https://example.com/x",
            prelaunchUrl = "https://example.com/p",
            rules = new object[] { new { when = new { device = new[] { "fridge" }, country = new[] { "Germany" } }, url = "ftp://example.com" } },
            variants = new[] { new { url = "https://example.com/a", weight = 60 }, new { url = "https://example.com/b", weight = 60 } },
            preview = new { title = "" },
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(
            new[] { "preview.title", "prelaunchUrl", "rules[0].url", "rules[0].when.country", "rules[0].when.device", "variants" }.Order(StringComparer.Ordinal),
            errors.Select(e => e.Key).Order(StringComparer.Ordinal));

        var tooMany = await _api.PostJsonAsync("/api/v1/links", new
        {
            url = "https://example.com/x",
            rules = Enumerable.Range(0, 51).Select(i => new { url = $"https://example.com/{i}" }).ToArray(),
        });
        Assert.Contains("at most 50 rules", (await tooMany.AssertProblemAsync(HttpStatusCode.BadRequest))["errors"]!["rules"]![0]!.GetValue<string>(),
            StringComparison.Ordinal);
    }

    private Task<HttpResponseMessage> Visit(string pathAndQuery, string? userAgent = null, string? country = null, string? language = null, string? forwardedFor = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/" + pathAndQuery);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent ?? WindowsChrome);
        if (country is not null)
        {
            request.Headers.Add("CF-IPCountry", country);
        }

        if (language is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", language);
        }

        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        return tern.Visitor().SendAsync(request);
    }

    private async Task<string?> LocationAsync(string pathAndQuery, string? userAgent = null, string? country = null, string? language = null, string? forwardedFor = null) =>
        (await Visit(pathAndQuery, userAgent, country, language, forwardedFor)).Headers.Location?.OriginalString;

    private Task<HttpResponseMessage> Guess(string slug, string password) =>
        tern.Visitor().PostAsync("/" + slug, new FormUrlEncodedContent([new("password", password)]));

    private async Task<IReadOnlyList<ClickResponse>> ClicksAsync(string linkId) =>
        (await _api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={linkId}&limit=500", Json))!.Items;
}

public sealed class SmartLinkTestsOnSqlite(SmartTern tern) : SmartLinkTests(tern), IClassFixture<SmartTern>;

public sealed class SmartLinkTestsOnPostgres(PostgresSmartTern tern) : SmartLinkTests(tern), IClassFixture<PostgresSmartTern>;
