using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Redirect;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Redirect;

public abstract class RedirectTests(TernFactory tern)
{
    private readonly HttpClient _api = tern.Api();
    private readonly HttpClient _visitor = tern.Visitor();

    [Fact]
    public async Task RedirectsToTheDestinationWithUtmParameters()
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://brand.example/loyalty?member_id=usr_84729",
            slug = UniqueSlug(),
            utm = new { source = "sms", campaign = "nov" },
        });

        var response = await _visitor.GetAsync("/" + link.Slug);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("https://brand.example/loyalty?member_id=usr_84729&utm_source=sms&utm_campaign=nov", response.Headers.Location?.OriginalString);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task ManyColdLinksRedirectedAtOnceEachGoWhereTheirOwnLinkSays()
    {
        const int links = 400;
        var run = UniqueSlug("cold");
        var created = await _api.PostJsonAsync("/api/v1/links/bulk", new
        {
            items = Enumerable.Range(0, links).Select(i => new { url = $"https://example.com/{run}/{i}", slug = $"{run}-{i}" }).ToArray(),
        });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var cache = tern.Get<LinkCache>();
        // Cold, as after a restart or on a node other than the one that created them.
        cache.Clear();
        var readsBefore = cache.StorageReads;

        var locations = new string?[links];
        await Parallel.ForAsync(0, links, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = TestContext.Current.CancellationToken },
            async (i, token) => locations[i] = (await _visitor.GetAsync($"/{run}-{i}", token)).Headers.Location?.OriginalString);

        Assert.Equal(Enumerable.Range(0, links).Select(i => $"https://example.com/{run}/{i}"), locations);
        // More misses at once than storage reads may run (Tern:Cache:ConcurrentLoads): the others waited their turn.
        Assert.Equal(links, cache.StorageReads - readsBefore);
    }

    [Theory]
    [InlineData(301, HttpStatusCode.MovedPermanently)]
    [InlineData(302, HttpStatusCode.Found)]
    [InlineData(307, HttpStatusCode.TemporaryRedirect)]
    [InlineData(308, HttpStatusCode.PermanentRedirect)]
    public async Task AnswersWithTheLinksRedirectType(int redirectType, HttpStatusCode expected)
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/t", slug = UniqueSlug(), redirectType });
        Assert.Equal(expected, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);
    }

    [Fact]
    public async Task ForwardsTheShortUrlsQueryBeforeTheFragment()
    {
        var withQuery = await _api.CreateLinkAsync(new { url = "https://example.com/p?a=1#frag", slug = UniqueSlug() });
        var withoutQuery = await _api.CreateLinkAsync(new { url = "https://example.com/p", slug = UniqueSlug() });
        var noForward = await _api.CreateLinkAsync(new { url = "https://example.com/p?a=1", slug = UniqueSlug(), forwardQuery = false });

        Assert.Equal("https://example.com/p?a=1&x=2&y=%20#frag", (await _visitor.GetAsync($"/{withQuery.Slug}?x=2&y=%20")).Headers.Location?.OriginalString);
        Assert.Equal("https://example.com/p?x=2", (await _visitor.GetAsync($"/{withoutQuery.Slug}?x=2")).Headers.Location?.OriginalString);
        Assert.Equal("https://example.com/p", (await _visitor.GetAsync($"/{withoutQuery.Slug}?")).Headers.Location?.OriginalString);
        Assert.Equal("https://example.com/p?a=1", (await _visitor.GetAsync($"/{noForward.Slug}?x=2")).Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("/no-such-slug")]
    [InlineData("/bad.slug")]
    [InlineData("/" + "x0123456789012345678901234567890123456789012345678901234567890123")]
    public async Task AnUnknownSlugAnswers404WithASmallHtmlPage(string path)
    {
        var response = await _visitor.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("not found", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SlugsAreCaseSensitive()
    {
        var slug = "Case" + Guid.NewGuid().ToString("N")[..8];
        await _api.CreateLinkAsync(new { url = "https://example.com/upper", slug });
        Assert.Equal(HttpStatusCode.Found, (await _visitor.GetAsync("/" + slug)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _visitor.GetAsync("/" + slug.ToLowerInvariant())).StatusCode);
    }

    [Fact]
    public async Task HeadAnswersLikeGetWithoutCountingAClick()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/head", slug = UniqueSlug() });

        var head = await _visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/" + link.Slug));
        Assert.Equal(HttpStatusCode.Found, head.StatusCode);
        Assert.Equal("https://example.com/head", head.Headers.Location?.OriginalString);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Equal(0, await ClicksAsync(link.Id));

        await _visitor.GetAsync("/" + link.Slug);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Equal(1, await ClicksAsync(link.Id));
        Assert.Equal(HttpStatusCode.NotFound, (await _visitor.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/unknown-head"))).StatusCode);
    }

    [Fact]
    public async Task AnExpiredLinkGoesToItsExpiredUrlOrAnswers410()
    {
        var past = DateTimeOffset.UtcNow.AddMinutes(-1);
        var withFallback = await _api.CreateLinkAsync(new { url = "https://example.com/x", slug = UniqueSlug(), expiresAt = past, expiredUrl = "https://example.com/over" });
        var withoutFallback = await _api.CreateLinkAsync(new { url = "https://example.com/x", slug = UniqueSlug(), expiresAt = past });

        var fallback = await _visitor.GetAsync("/" + withFallback.Slug);
        Assert.Equal(HttpStatusCode.Found, fallback.StatusCode);
        Assert.Equal("https://example.com/over", fallback.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Gone, (await _visitor.GetAsync("/" + withoutFallback.Slug)).StatusCode);
        Assert.Equal(0, await ClicksAsync(withFallback.Id));
    }

    [Fact]
    public async Task AnArchivedLinkBehavesAsExpiredUntilRestored()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/live", slug = UniqueSlug(), expiredUrl = "https://example.com/archived" });
        Assert.Equal("https://example.com/live", (await _visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { archived = true }, Json);
        Assert.Equal("https://example.com/archived", (await _visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { expiredUrl = (string?)null }, Json);
        Assert.Equal(HttpStatusCode.Gone, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { archived = false }, Json);
        Assert.Equal(HttpStatusCode.Found, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);
    }

    [Fact]
    public async Task MaxClicksIsExactUnderConcurrentVisitors()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/limited", slug = UniqueSlug(), maxClicks = 10, expiredUrl = "https://example.com/sold-out" });

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => tern.Visitor().GetAsync("/" + link.Slug)));

        Assert.Equal(10, responses.Count(r => r.Headers.Location?.OriginalString == "https://example.com/limited"));
        Assert.Equal(90, responses.Count(r => r.Headers.Location?.OriginalString == "https://example.com/sold-out"));
        Assert.Equal(10, await ClicksAsync(link.Id));

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        tern.Get<LinkCache>().Clear();
        Assert.Equal("https://example.com/sold-out", (await _visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        // Raising the limit re-opens the link for exactly the difference.
        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { maxClicks = 12 }, Json);
        var more = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => tern.Visitor().GetAsync("/" + link.Slug)));
        Assert.Equal(2, more.Count(r => r.Headers.Location?.OriginalString == "https://example.com/limited"));
    }

    [Fact]
    public async Task ALinkThatReachedMaxClicksWithoutAnExpiredUrlAnswers410()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/three-only", slug = UniqueSlug(), maxClicks = 3 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => tern.Visitor().GetAsync("/" + link.Slug)));

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.Found));
        Assert.Equal(2, responses.Count(r => r.StatusCode == HttpStatusCode.Gone));
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        tern.Get<LinkCache>().Clear();
        Assert.Equal(HttpStatusCode.Gone, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);
        Assert.Equal(3, await ClicksAsync(link.Id));
    }

    [Fact]
    public async Task CountedClicksReachStorage()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/count", slug = UniqueSlug() });
        await Task.WhenAll(Enumerable.Range(0, 25).Select(_ => tern.Visitor().GetAsync("/" + link.Slug)));

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var stored = await tern.Get<Tern.Server.Links.LinkStore>().FindAsync("ws_default", link.Id, CancellationToken.None);
        Assert.Equal(25, stored!.Clicks);
        Assert.Equal(25, await ClicksAsync(link.Id));
    }

    [Fact]
    public async Task ALinkOnAnotherDomainAnswersOnlyOnThatHost()
    {
        var slug = UniqueSlug("brand");
        await _api.CreateLinkAsync(new { url = "https://brand.example/", slug, domain = "brand.test" });

        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor("brand.test").GetAsync("/" + slug)).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor("BRAND.test:8080").GetAsync("/" + slug)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await tern.Visitor("go.test").GetAsync("/" + slug)).StatusCode);
    }

    [Fact]
    public async Task TheSameSlugCanLiveOnTwoDomains()
    {
        var slug = UniqueSlug("twin");
        await _api.CreateLinkAsync(new { url = "https://default.example/", slug });
        await _api.CreateLinkAsync(new { url = "https://brand.example/", slug, domain = "brand.test" });

        Assert.Equal("https://default.example/", (await tern.Visitor("go.test").GetAsync("/" + slug)).Headers.Location?.OriginalString);
        Assert.Equal("https://brand.example/", (await tern.Visitor("brand.test").GetAsync("/" + slug)).Headers.Location?.OriginalString);
        Assert.Equal("https://default.example/", (await tern.Visitor("anything.example").GetAsync("/" + slug)).Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task ACachedLinkIsServedWithoutReadingStorage()
    {
        var cache = tern.Get<LinkCache>();
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/hot", slug = UniqueSlug() });
        await _visitor.GetAsync("/" + link.Slug);
        var reads = cache.StorageReads;

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.Found, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);
        }

        Assert.Equal(reads, cache.StorageReads);
    }

    [Fact]
    public async Task LinksAreServedFromMemoryFromTheirFirstRedirectOnTheNodeThatCreatedThem()
    {
        var cache = tern.Get<LinkCache>();
        var one = await _api.CreateLinkAsync(new { url = "https://example.com/just-in-time", slug = UniqueSlug("jit") });
        var run = UniqueSlug("jit-bulk");
        var bulk = await _api.PostJsonAsync("/api/v1/links/bulk", new
        {
            items = Enumerable.Range(0, 20).Select(i => new { url = $"https://example.com/{run}/{i}", slug = $"{run}-{i}" }).ToArray(),
        });
        Assert.Equal(HttpStatusCode.OK, bulk.StatusCode);
        var reads = cache.StorageReads;

        Assert.Equal("https://example.com/just-in-time", (await _visitor.GetAsync("/" + one.Slug)).Headers.Location?.OriginalString);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal($"https://example.com/{run}/{i}", (await _visitor.GetAsync($"/{run}-{i}")).Headers.Location?.OriginalString);
        }

        Assert.Equal(reads, cache.StorageReads);
    }

    [Fact]
    public async Task AnUnknownSlugIsRememberedSoFloodsStayOffStorage()
    {
        var cache = tern.Get<LinkCache>();
        var slug = UniqueSlug("miss");
        await _visitor.GetAsync("/" + slug);
        var reads = cache.StorageReads;

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await _visitor.GetAsync("/" + slug)).StatusCode);
        }

        Assert.Equal(reads, cache.StorageReads);

        // ...and creating the link makes it reachable at once.
        await _api.CreateLinkAsync(new { url = "https://example.com/new", slug });
        Assert.Equal(HttpStatusCode.Found, (await _visitor.GetAsync("/" + slug)).StatusCode);
    }

    [Fact]
    public async Task AChangeIsSeenByTheNextRedirect()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/old", slug = UniqueSlug() });
        Assert.Equal("https://example.com/old", (await _visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url = "https://example.com/moved" }, Json);
        Assert.Equal("https://example.com/moved", (await _visitor.GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);

        var newSlug = UniqueSlug();
        await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { slug = newSlug }, Json);
        Assert.Equal(HttpStatusCode.NotFound, (await _visitor.GetAsync("/" + link.Slug)).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await _visitor.GetAsync("/" + newSlug)).StatusCode);
    }

    [Fact]
    public async Task ApiRoutesWinOverTheSlugRoute()
    {
        Assert.Equal(HttpStatusCode.OK, (await _visitor.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _visitor.GetAsync("/HEALTHZ")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _visitor.GetAsync("/openapi/v1.json")).StatusCode);
    }

    private async Task<long> ClicksAsync(string id) =>
        (await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{id}", Json))!.Clicks;
}

public sealed class RedirectTestsOnSqlite(TernFactory tern) : RedirectTests(tern), IClassFixture<TernFactory>;
public sealed class RedirectTestsOnPostgres(PostgresTernFactory tern) : RedirectTests(tern), IClassFixture<PostgresTernFactory>;
