using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>The links API on one storage backend; subclasses pick the backend.</summary>
public abstract class LinkApiTests(TernFactory tern)
{
    private readonly HttpClient _api = tern.Api();

    [Fact]
    public async Task CreatesALinkWithEveryFieldAndReturnsIt()
    {
        var slug = UniqueSlug("all");
        var expiresAt = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var response = await _api.PostJsonAsync("/api/v1/links", new
        {
            url = "https://brand.example/loyalty?member_id=usr_84729#top",
            slug,
            domain = "brand.test",
            utm = new { source = "sms", medium = "text", campaign = "nov", term = "t", content = "c" },
            tags = new[] { "campaign", "sms" },
            externalId = "ext-" + slug,
            title = "Loyalty",
            expiresAt,
            expiredUrl = "https://brand.example/expired",
            maxClicks = 100,
            redirectType = 307,
            forwardQuery = false,
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = await response.ReadAsync<LinkResponse>();
        Assert.Equal($"/api/v1/links/{link.Id}", response.Headers.Location?.OriginalString);
        Assert.StartsWith("lnk_", link.Id, StringComparison.Ordinal);
        Assert.Equal(slug, link.Slug);
        Assert.Equal("brand.test", link.Domain);
        Assert.Equal($"http://brand.test/{slug}", link.ShortUrl);
        Assert.Equal("https://brand.example/loyalty?member_id=usr_84729&utm_source=sms&utm_medium=text&utm_campaign=nov&utm_term=t&utm_content=c#top", link.Url);
        Assert.Equal(new UtmParameters { Source = "sms", Medium = "text", Campaign = "nov", Term = "t", Content = "c" }, link.Utm);
        Assert.Equal(["campaign", "sms"], link.Tags);
        Assert.Equal("ext-" + slug, link.ExternalId);
        Assert.Equal("Loyalty", link.Title);
        Assert.Equal(expiresAt, link.ExpiresAt);
        Assert.Equal("https://brand.example/expired", link.ExpiredUrl);
        Assert.Equal(100, link.MaxClicks);
        Assert.Equal(307, link.RedirectType);
        Assert.False(link.ForwardQuery);
        Assert.False(link.Archived);
        Assert.Equal(0, link.Clicks);
        Assert.Equal(link.CreatedAt, link.UpdatedAt);

        var fetched = (await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", Json))!;
        Assert.Equal(link, fetched with { Tags = link.Tags });
        Assert.Equal(link.Tags, fetched.Tags);
    }

    [Fact]
    public async Task WritesTimestampsAsIsoUtcWithZ()
    {
        var response = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/", expiresAt = "2030-01-02T03:04:05+02:00" });
        var json = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"expiresAt\":\"2030-01-02T01:04:05Z\"", json, StringComparison.Ordinal);
        Assert.Matches("\"createdAt\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3})?Z\"", json);
    }

    [Fact]
    public async Task GivesARandomSevenCharacterSlugOnTheDefaultDomainWhenNoneIsAsked()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/random" });
        Assert.Equal(7, link.Slug.Length);
        Assert.Equal("go.test", link.Domain);
        Assert.Equal($"http://go.test/{link.Slug}", link.ShortUrl);
        Assert.Equal(302, link.RedirectType);
        Assert.True(link.ForwardQuery);
        Assert.Empty(link.Tags);
    }

    [Fact]
    public async Task RepeatingACreateWithTheSameSlugAndDefinitionReturnsTheExistingLinkWith200()
    {
        var body = new { url = "https://example.com/a", slug = UniqueSlug(), utm = new { source = "x" }, tags = new[] { "b", "a" } };
        var first = await _api.CreateLinkAsync(body);

        var again = await _api.PostJsonAsync("/api/v1/links", body with { tags = new[] { "a", "b" } });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.Id, (await again.ReadAsync<LinkResponse>()).Id);

        // Fields the request omits are not compared; the destination is compared after the UTM merge.
        var partial = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/a?utm_source=x", body.slug });
        Assert.Equal(HttpStatusCode.OK, partial.StatusCode);
    }

    [Fact]
    public async Task ASlugWithADifferentDefinitionAnswers409()
    {
        var slug = UniqueSlug();
        await _api.CreateLinkAsync(new { url = "https://example.com/a", slug });

        var response = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/b", slug });
        await response.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/link-conflict");

        var differentTitle = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/a", slug, title = "other" });
        await differentTitle.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/link-conflict");
    }

    [Fact]
    public async Task TheSameExternalIdFollowsTheSameRuleAsTheSlug()
    {
        var externalId = "crm-" + Guid.NewGuid();
        var first = await _api.CreateLinkAsync(new { url = "https://example.com/x", externalId });

        var same = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/x", externalId });
        Assert.Equal(HttpStatusCode.OK, same.StatusCode);
        Assert.Equal(first.Id, (await same.ReadAsync<LinkResponse>()).Id);

        var different = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/y", externalId });
        await different.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/link-conflict");
    }

    [Fact]
    public async Task AMovedLinkKeepsTheCreationInstantItCameWith()
    {
        var createdAt = new DateTimeOffset(2019, 4, 5, 6, 7, 8, 901, TimeSpan.Zero);
        var response = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/moved", slug = UniqueSlug("moved"), createdAt });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = await response.ReadAsync<LinkResponse>();
        Assert.Equal(createdAt, link.CreatedAt);
        Assert.True(link.UpdatedAt > createdAt);
        Assert.Equal(createdAt, (await _api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", Json))!.CreatedAt);

        // Repeating the create with another creation instant is still the same link: the instant is history, not definition.
        var again = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/moved", slug = link.Slug, createdAt = createdAt.AddDays(1) });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(createdAt, (await again.ReadAsync<LinkResponse>()).CreatedAt);
    }

    [Theory]
    [InlineData("2999-01-01T00:00:00Z")]
    [InlineData("1969-12-31T23:59:59Z")]
    public async Task ACreationInstantInTheFutureOrBefore1970IsAFieldError(string createdAt)
    {
        var response = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/when", createdAt });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]!["createdAt"]);
    }

    [Fact]
    public async Task AnUpsertOfAnExistingLinkKeepsItsCreationInstant()
    {
        var externalId = "moved-" + Guid.NewGuid().ToString("N");
        var first = await (await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}",
            new { url = "https://shop.example/m/1", createdAt = "2020-01-01T00:00:00Z" }, Json)).ReadAsync<LinkResponse>();
        var second = await (await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}",
            new { url = "https://shop.example/m/2", createdAt = "2021-01-01T00:00:00Z" }, Json)).ReadAsync<LinkResponse>();

        Assert.Equal(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), first.CreatedAt);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.Equal("https://shop.example/m/2", second.Url);
    }

    [Fact]
    public async Task PutByExternalIdCreatesThenReplacesKeepingIdSlugAndClicks()
    {
        var externalId = "order-" + Guid.NewGuid().ToString("N");
        var created = await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}",
            new { url = "https://shop.example/p/1", title = "First", tags = new[] { "a" } }, Json);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var first = await created.ReadAsync<LinkResponse>();
        Assert.Equal(externalId, first.ExternalId);

        var replaced = await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}",
            new { url = "https://shop.example/p/2" }, Json);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);
        var second = await replaced.ReadAsync<LinkResponse>();
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.Slug, second.Slug);
        Assert.Equal("https://shop.example/p/2", second.Url);
        Assert.Null(second.Title);
        Assert.Empty(second.Tags);
        Assert.True(second.UpdatedAt >= first.UpdatedAt);

        var mismatch = await _api.PutAsJsonAsync($"/api/v1/links/external/{externalId}",
            new { url = "https://shop.example/p/2", externalId = "other" }, Json);
        await mismatch.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
    }

    [Fact]
    public async Task PatchChangesOnlyTheGivenFieldsAndNullClears()
    {
        var link = await _api.CreateLinkAsync(new
        {
            url = "https://example.com/p",
            slug = UniqueSlug(),
            title = "T",
            tags = new[] { "x" },
            utm = new { source = "s" },
            expiresAt = "2031-01-01T00:00:00Z",
            maxClicks = 5,
        });

        var response = await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}",
            new { title = (string?)null, tags = (string[]?)null, maxClicks = (long?)null, url = "https://example.com/q", archived = true }, Json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var patched = await response.ReadAsync<LinkResponse>();
        Assert.Null(patched.Title);
        Assert.Empty(patched.Tags);
        Assert.Null(patched.MaxClicks);
        Assert.True(patched.Archived);
        Assert.Equal("https://example.com/q?utm_source=s", patched.Url);
        Assert.Equal(link.ExpiresAt, patched.ExpiresAt);
        Assert.Equal(link.Slug, patched.Slug);
        Assert.True(patched.UpdatedAt >= link.UpdatedAt);

        var cleared = await (await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { utm = (object?)null, archived = false }, Json))
            .ReadAsync<LinkResponse>();
        Assert.Equal("https://example.com/q", cleared.Url);
        Assert.Null(cleared.Utm);
        Assert.False(cleared.Archived);
    }

    [Fact]
    public async Task PatchRefusesToClearTheUrlOrTakeAnotherLinksSlug()
    {
        var taken = await _api.CreateLinkAsync(new { url = "https://example.com/1", slug = UniqueSlug() });
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/2", slug = UniqueSlug() });

        var noUrl = await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url = (string?)null }, Json);
        var problem = await noUrl.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["url"]);

        var slugClash = await _api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { slug = taken.Slug }, Json);
        await slugClash.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/slug-taken");

        var missing = await _api.PatchAsJsonAsync("/api/v1/links/lnk_00000000000000000000000000", new { title = "x" }, Json);
        await missing.AssertProblemAsync(HttpStatusCode.NotFound, "/problems/not-found");
    }

    [Fact]
    public async Task DeleteAnswers204AndTheLinkIsGone()
    {
        var link = await _api.CreateLinkAsync(new { url = "https://example.com/gone", slug = UniqueSlug() });
        await tern.Visitor().GetAsync("/" + link.Slug); // cached now

        Assert.Equal(HttpStatusCode.NoContent, (await _api.DeleteAsync($"/api/v1/links/{link.Id}")).StatusCode);
        await (await _api.GetAsync($"/api/v1/links/{link.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.NotFound, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await (await _api.DeleteAsync($"/api/v1/links/{link.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ListsNewestFirstPageByPageWithACursor()
    {
        var api = await NewWorkspaceClientAsync();
        var created = new List<LinkResponse>();
        for (var i = 0; i < 5; i++)
        {
            created.Add(await api.CreateLinkAsync(new { url = $"https://example.com/{i}" }));
        }

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await api.GetFromJsonAsync<ListResponse<LinkResponse>>(
                "/api/v1/links?limit=2" + (cursor is null ? "" : "&cursor=" + cursor), Json);
            seen.AddRange(page!.Items.Select(l => l.Id));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(created.Select(l => l.Id).Reverse(), seen);
    }

    [Fact]
    public async Task ListFiltersByTagSearchArchivedAndExternalId()
    {
        var api = await NewWorkspaceClientAsync();
        var summer = await api.CreateLinkAsync(new { url = "https://shop.example/summer", title = "Summer Sale", tags = new[] { "sale" } });
        var winter = await api.CreateLinkAsync(new { url = "https://shop.example/winter", tags = new[] { "sale", "winter" }, externalId = "w-1" });
        var other = await api.CreateLinkAsync(new { url = "https://blog.example/100%_real", slug = UniqueSlug("blog") });
        await api.PatchAsJsonAsync($"/api/v1/links/{winter.Id}", new { archived = true }, Json);

        async Task<string[]> Ids(string query) =>
            [.. (await api.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links?" + query, Json))!.Items.Select(l => l.Id)];

        Assert.Equal([winter.Id, summer.Id], await Ids("tag=sale"));
        Assert.Equal([winter.Id], await Ids("tag=winter"));
        Assert.Equal([summer.Id], await Ids("q=SUMMER%20sale"));
        Assert.Equal([other.Id], await Ids("q=100%25_"));
        Assert.Equal([winter.Id], await Ids("archived=true"));
        Assert.Equal([other.Id, summer.Id], await Ids("archived=false"));
        Assert.Equal([winter.Id], await Ids("externalId=w-1"));
        Assert.Empty(await Ids("tag=none"));
    }

    [Fact]
    public async Task ConcurrentCreatesOfTheSameSlugYieldExactlyOneLinkAndOneCreatedEvent()
    {
        var body = new { url = "https://example.com/race", slug = UniqueSlug("race"), tags = new[] { "race" } };
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => tern.Api().PostJsonAsync("/api/v1/links", body)));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var ids = await Task.WhenAll(responses.Select(async r => (await r.ReadAsync<LinkResponse>()).Id));
        var id = Assert.Single(ids.Distinct());
        Assert.Equal(1, await CreatedEventsAsync(id));
        var tagged = await _api.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links?tag=race&limit=100", Json);
        Assert.Contains(id, tagged!.Items.Select(l => l.Id));
    }

    [Fact]
    public async Task ACreateThatFindsItsSlugTakenWritesNoEvent()
    {
        var slug = UniqueSlug("taken");
        var first = await _api.CreateLinkAsync(new { url = "https://example.com/first", slug });

        var again = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/first", slug });
        var other = await _api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/other", slug, tags = new[] { "other" } });

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Equal(1, await CreatedEventsAsync(first.Id));
        Assert.Empty((await _api.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links?tag=other", Json))!.Items);
    }

    /// <summary>How many <c>link.created</c> events the workspace's newest 100 hold for this link.</summary>
    private async Task<int> CreatedEventsAsync(string linkId)
    {
        var events = await _api.GetFromJsonAsync<JsonObject>("/api/v1/events?type=link.created&limit=100", Json);
        return events!["items"]!.AsArray().Count(e => (string?)e!["data"]!["link"]!["id"] == linkId);
    }

    [Fact]
    public async Task ConcurrentCreatesOfTheSameExternalIdYieldExactlyOneLink()
    {
        var body = new { url = "https://example.com/race", externalId = "race-" + Guid.NewGuid() };
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => tern.Api().PostJsonAsync("/api/v1/links", body)));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.ReadAsync<LinkResponse>()).Id));
        Assert.Single(ids.Distinct());
    }

    [Fact]
    public async Task ConcurrentUpsertsOfANewExternalIdYieldOneLink()
    {
        var externalId = "upsert-" + Guid.NewGuid().ToString("N");
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            tern.Api().PutAsJsonAsync($"/api/v1/links/external/{externalId}", new { url = "https://example.com/u" }, Json)));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        var page = await _api.GetFromJsonAsync<ListResponse<LinkResponse>>($"/api/v1/links?externalId={externalId}", Json);
        Assert.Single(page!.Items);
    }

    /// <summary>A client whose key belongs to a new, empty workspace.</summary>
    protected async Task<HttpClient> NewWorkspaceClientAsync()
    {
        var workspace = await (await _api.PostJsonAsync("/api/v1/workspaces", new { name = "ws " + Guid.NewGuid() }))
            .ReadAsync<WorkspaceResponse>();
        var key = await (await _api.PostJsonAsync("/api/v1/keys",
                new { name = "test", scopes = new[] { "links:read", "links:write" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        return tern.Api(key.Key);
    }
}

public sealed class LinkApiTestsOnSqlite(TernFactory tern) : LinkApiTests(tern), IClassFixture<TernFactory>;
public sealed class LinkApiTestsOnPostgres(PostgresTernFactory tern) : LinkApiTests(tern), IClassFixture<PostgresTernFactory>;
