using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>Bulk create, update and delete on one storage backend; subclasses pick the backend.</summary>
public abstract class BulkLinkTests(TernFactory tern)
{
    [Fact]
    public async Task AnswersOneResultPerItemInRequestOrder()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slugs = Enumerable.Range(0, 5).Select(i => UniqueSlug($"o{i}")).ToList();

        var response = await api.BulkCreateAsync([.. slugs.Select(s => new { url = "https://example.com/" + s, slug = s }), new { url = "https://example.com/random" }]);

        Assert.Equal([0, 1, 2, 3, 4, 5], response.Results.Select(r => r.Index));
        Assert.All(response.Results, r => Assert.Equal("created", r.Status));
        Assert.Equal(slugs, response.Results.Take(5).Select(r => r.Link!.Slug));
        Assert.Equal(7, response.Results[5].Link!.Slug.Length);
        Assert.Equal("https://example.com/random", response.Results[5].Link!.Url);
    }

    [Fact]
    public async Task AnInvalidItemFailsAloneWithAProblemObject()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var body = $$"""
            { "items": [
              { "url": "https://example.com/good-1" },
              { "url": "ftp://example.com/bad" },
              { "url": 5 },
              { "url": "https://example.com/good-2", "slug": "api" }
            ] }
            """;
        var response = await api.PostAsync("/api/v1/links/bulk", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await response.ReadObjectAsync();
        var results = json["results"]!.AsArray();
        Assert.Equal("created", (string?)results[0]!["status"]);
        Assert.Equal("error", (string?)results[1]!["status"]);
        Assert.Equal("/problems/validation", (string?)results[1]!["error"]!["type"]);
        Assert.Equal(400, (int)results[1]!["error"]!["status"]!);
        Assert.False(string.IsNullOrEmpty((string?)results[1]!["error"]!["title"]));
        Assert.Contains("url", results[1]!["error"]!["errors"]!.AsObject().Select(p => p.Key));
        Assert.Null(results[1]!["link"]);
        Assert.Equal("/problems/malformed-request", (string?)results[2]!["error"]!["type"]);
        Assert.Contains("$.url", (string?)results[2]!["error"]!["detail"], StringComparison.Ordinal);
        Assert.Contains("slug", results[3]!["error"]!["errors"]!.AsObject().Select(p => p.Key));
        Assert.Single(await api.EventsAsync("link.created"));
    }

    [Fact]
    public async Task ALaterItemWithTheSameSlugAndAnotherDefinitionIsAConflict()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slug = UniqueSlug("dup");
        var response = await api.BulkCreateAsync(
            new { url = "https://example.com/first", slug },
            new { url = "https://example.com/second", slug });

        Assert.Equal("created", response.Results[0].Status);
        Assert.Equal("error", response.Results[1].Status);
        Assert.Equal("/problems/link-conflict", response.Results[1].Error!.Type);
        Assert.Equal(409, response.Results[1].Error!.Status);
        Assert.Contains("Item 0", response.Results[1].Error!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALaterIdenticalItemAnswersExistingWithTheLinkTheEarlierOneCreated()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var externalId = "crm-" + Guid.NewGuid();
        var item = new { url = "https://example.com/same", externalId, tags = new[] { "a", "b" } };
        var response = await api.BulkCreateAsync(item, item with { tags = new[] { "b", "a" } });

        Assert.Equal("created", response.Results[0].Status);
        Assert.Equal("existing", response.Results[1].Status);
        Assert.Equal(response.Results[0].Link!.Id, response.Results[1].Link!.Id);
        Assert.Single(await api.EventsAsync("link.created"));
    }

    [Fact]
    public async Task RunningTheSameBatchAgainChangesNothingAndEmitsNoSecondEvent()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "rerun-" + Guid.NewGuid().ToString("N")[..8];
        var items = Enumerable.Range(0, 30).Select(i => (object)new
        {
            url = $"https://example.com/p/{i}",
            slug = UniqueSlug($"r{i}"),
            tags = new[] { tag },
            utm = new { campaign = "spring" },
        }).Concat([new { url = "https://example.com/by-external", externalId = "ext-" + tag }]).ToArray();

        var first = await api.BulkCreateAsync(items);
        var second = await api.BulkCreateAsync(items);

        Assert.All(first.Results, r => Assert.Equal("created", r.Status));
        Assert.All(second.Results, r => Assert.Equal("existing", r.Status));
        Assert.Equal(first.Results.Select(r => r.Link!.Id), second.Results.Select(r => r.Link!.Id));
        var created = await api.EventsAsync("link.created");
        Assert.Equal(31, created.Count);
        Assert.Equal(first.Results.Select(r => r.Link!.Id).Order(), created.Select(e => e.Data.Link!.Id).Order());
        Assert.Equal(30, (await api.LinksTaggedAsync(tag)).Count);
    }

    [Fact]
    public async Task TwoIdenticalBatchesAtOnceCreateEachLinkOnce()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slugs = Enumerable.Range(0, 200).Select(i => UniqueSlug($"c{i}")).ToList();
        var forward = slugs.Select(s => (object)new { url = "https://example.com/" + s, slug = s }).ToArray();

        var answers = await Task.WhenAll(api.BulkCreateAsync(forward), api.BulkCreateAsync([.. forward.Reverse()]));

        var statuses = answers[0].Results.Select(r => (r.Link!.Slug, r.Status))
            .Concat(answers[1].Results.Select(r => (r.Link!.Slug, r.Status)))
            .GroupBy(p => p.Slug, p => p.Status)
            .ToDictionary(g => g.Key, g => string.Join(",", g.Order()));
        Assert.All(slugs, s => Assert.Equal("created,existing", statuses[s]));
        Assert.Equal(200, (await api.EventsAsync("link.created")).Count);
    }

    [Fact]
    public async Task BatchesOfTheSameExternalIdsWithRandomSlugsAtOnceCreateEachLinkOnce()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = UniqueSlug("ext");
        var items = Enumerable.Range(0, 500).Select(i => (object)new { url = $"https://example.com/{run}/{i}", externalId = $"{run}-{i}" }).ToArray();

        var answers = await Task.WhenAll(
            api.BulkCreateAsync(items), api.BulkCreateAsync([.. items.Reverse()]), api.BulkCreateAsync([.. items.Skip(250), .. items.Take(250)]));

        var statuses = answers.SelectMany(a => a.Results).GroupBy(r => r.Link!.ExternalId!, r => r.Status)
            .ToDictionary(g => g.Key, g => string.Join(",", g.Order()));
        Assert.Equal(500, statuses.Count);
        Assert.All(statuses.Values, s => Assert.Equal("created,existing,existing", s));
        Assert.Equal(500, (await api.EventsAsync("link.created")).Count);
    }

    [Fact]
    public async Task AnItemThatDiffersFromTheStoredLinkAnswersAConflictForThatItemOnly()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slug = UniqueSlug("stored");
        var same = UniqueSlug("same");
        var externalId = "crm-" + Guid.NewGuid();
        await api.CreateLinkAsync(new { url = "https://example.com/stored", slug });
        await api.CreateLinkAsync(new { url = "https://example.com/same", slug = same });
        await api.CreateLinkAsync(new { url = "https://example.com/stored-ext", externalId });

        var response = await api.BulkCreateAsync(
            new { url = "https://example.com/changed", slug },
            new { url = "https://example.com/changed-ext", externalId },
            new { url = "https://example.com/same", slug = same },
            new { url = "https://example.com/fresh" });

        Assert.Equal(["error", "error", "existing", "created"], response.Results.Select(r => r.Status));
        Assert.Equal("/problems/link-conflict", response.Results[0].Error!.Type);
        Assert.Equal("/problems/link-conflict", response.Results[1].Error!.Type);
    }

    [Fact]
    public async Task ASlugOfAnotherWorkspaceIsTakenAndRevealsNothing()
    {
        var slug = UniqueSlug("other");
        await tern.Api().CreateLinkAsync(new { url = "https://example.com/theirs", slug });
        var api = await BulkTestClient.NewWorkspaceAsync(tern);

        var response = await api.BulkCreateAsync(new { url = "https://example.com/theirs", slug });

        Assert.Equal("/problems/slug-taken", response.Results[0].Error!.Type);
        Assert.DoesNotContain("lnk_", response.Results[0].Error!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReplaysTheFirstAnswerForTheSameIdempotencyKey()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var body = $$"""{ "items": [ { "url": "https://example.com/idem" }, { "url": "https://example.com/idem-2" } ] }""";
        var key = Guid.NewGuid().ToString();
        async Task<HttpResponseMessage> PostAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links/bulk") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            return await api.SendAsync(request);
        }

        var first = await PostAsync();
        var replay = await PostAsync();

        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.Equal(2, (await api.EventsAsync("link.created")).Count);
    }

    [Fact]
    public async Task MoreThanAThousandItemsAnswer413AndWriteNothing()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var response = await api.PostJsonAsync("/api/v1/links/bulk", new { items = Enumerable.Range(0, 1001).Select(i => new { url = $"https://example.com/{i}" }) });

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/batch-too-large");
        Assert.Contains("1001", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Contains("1000", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Empty(await api.EventsAsync("link.created"));
    }

    [Theory]
    [InlineData("", HttpStatusCode.BadRequest, "JSON")]
    [InlineData("{", HttpStatusCode.BadRequest, "JSON")]
    [InlineData("[]", HttpStatusCode.BadRequest, "object")]
    [InlineData("{}", HttpStatusCode.BadRequest, "items")]
    [InlineData("{\"items\": []}", HttpStatusCode.BadRequest, "items")]
    [InlineData("{\"items\": {}}", HttpStatusCode.BadRequest, "items")]
    [InlineData("{\"items\": [], \"more\": 1}", HttpStatusCode.BadRequest, "more")]
    public async Task AMalformedBodyAnswersAProblem(string body, HttpStatusCode status, string mention)
    {
        var response = await tern.Api().PostAsync("/api/v1/links/bulk", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(status);
        Assert.Contains(mention, problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnotherContentTypeAnswers415()
    {
        var response = await tern.Api().PostAsync("/api/v1/links/bulk", new StringContent("url\nhttps://example.com", Encoding.UTF8, "text/plain"));
        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "/problems/unsupported-media-type");
    }

    [Fact]
    public async Task BulkUpdateByTagMovesEveryLinkAndTheRedirectsFollowAtOnce()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "move-" + Guid.NewGuid().ToString("N")[..8];
        var created = await api.BulkCreateAsync([.. Enumerable.Range(0, 3).Select(i => new { url = $"https://old.example/{i}", tags = new[] { tag } })]);
        var other = await api.CreateLinkAsync(new { url = "https://old.example/untouched" });
        var visitor = tern.Visitor();
        foreach (var result in created.Results)
        {
            Assert.Equal($"https://old.example/{result.Index}", (await visitor.GetAsync("/" + result.Link!.Slug)).Headers.Location?.OriginalString); // now cached
        }

        var response = await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { tag }, set = new { url = "https://new.example/landing", utm = new { campaign = "autumn" } } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new BulkUpdateResponse(3, 3), await response.ReadAsync<BulkUpdateResponse>());
        foreach (var result in created.Results)
        {
            Assert.Equal("https://new.example/landing?utm_campaign=autumn", (await visitor.GetAsync("/" + result.Link!.Slug)).Headers.Location?.OriginalString);
        }

        Assert.Equal("https://old.example/untouched", (await visitor.GetAsync("/" + other.Slug)).Headers.Location?.OriginalString);
        var updated = await api.EventsAsync("link.updated");
        Assert.Equal(created.Results.Select(r => r.Link!.Id).Order(), updated.Select(e => e.Data.Link!.Id).Order());
        Assert.All(updated, e => Assert.Equal("https://new.example/landing?utm_campaign=autumn", e.Data.Link!.Url));
    }

    [Fact]
    public async Task BulkUpdateByIdsArchivesOnlyThoseAndSendsThemToTheFallback()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var links = await api.BulkCreateAsync([.. Enumerable.Range(0, 4).Select(i => new { url = $"https://example.com/c/{i}" })]);
        var ids = links.Results.Take(2).Select(r => r.Link!.Id).ToArray();

        var response = await api.PatchJsonAsync("/api/v1/links/bulk",
            new { filter = new { ids }, set = new { archived = true, expiredUrl = "https://example.com/campaign-over" } });
        var again = await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { ids }, set = new { archived = true, expiredUrl = "https://example.com/campaign-over" } });

        Assert.Equal(new BulkUpdateResponse(2, 2), await response.ReadAsync<BulkUpdateResponse>());
        Assert.Equal(new BulkUpdateResponse(0, 2), await again.ReadAsync<BulkUpdateResponse>());
        var visitor = tern.Visitor();
        Assert.Equal("https://example.com/campaign-over", (await visitor.GetAsync("/" + links.Results[0].Link!.Slug)).Headers.Location?.OriginalString);
        Assert.Equal("https://example.com/c/2", (await visitor.GetAsync("/" + links.Results[2].Link!.Slug)).Headers.Location?.OriginalString);
        Assert.Equal(2, (await api.EventsAsync("link.updated")).Count);
    }

    [Fact]
    public async Task BulkUpdateNullClearsAField()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var link = await api.CreateLinkAsync(new { url = "https://example.com/t", title = "Old title", maxClicks = 5 });

        await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { ids = new[] { link.Id } }, set = new { title = (string?)null, maxClicks = (long?)null } });

        var fetched = await (await api.GetAsync($"/api/v1/links/{link.Id}")).ReadAsync<LinkResponse>();
        Assert.Null(fetched.Title);
        Assert.Null(fetched.MaxClicks);
    }

    [Theory]
    [InlineData("{\"set\": {\"archived\": true}}", "filter")]
    [InlineData("{\"filter\": {}, \"set\": {\"archived\": true}}", "filter")]
    [InlineData("{\"filter\": {\"tag\": \"x\"}}", "set")]
    [InlineData("{\"filter\": {\"tag\": \"x\"}, \"set\": {}}", "set")]
    [InlineData("{\"filter\": {\"tag\": \"x\"}, \"set\": {\"slug\": \"same-for-all\"}}", "set.slug")]
    [InlineData("{\"filter\": {\"tag\": \"x\"}, \"set\": {\"externalId\": \"one\"}}", "set.externalId")]
    [InlineData("{\"filter\": {\"tag\": \"\"}, \"set\": {\"archived\": true}}", "filter.tag")]
    [InlineData("{\"filter\": {\"tag\": \"x\", \"everything\": true}, \"set\": {\"archived\": true}}", "everything")]
    public async Task BulkUpdateRefusesARequestThatSelectsOrChangesTooMuch(string body, string mention)
    {
        var response = await tern.Api().PatchAsync("/api/v1/links/bulk", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(mention, problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BulkUpdateRefusesMoreThanAThousandIds()
    {
        var response = await tern.Api().PatchJsonAsync("/api/v1/links/bulk",
            new { filter = new { ids = Enumerable.Range(0, 1001).Select(i => $"lnk_{i}") }, set = new { archived = true } });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("1001", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task BulkUpdateOfMoreThanTenThousandLinksAnswers413AndChangesNothing()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "big-" + Guid.NewGuid().ToString("N")[..8];
        for (var start = 0; start <= 10_000; start += 1000)
        {
            await api.BulkCreateAsync([.. Enumerable.Range(start, Math.Min(1000, 10_001 - start))
                .Select(i => new { url = $"https://example.com/big/{i}", tags = new[] { tag } })]);
        }

        var response = await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { tag }, set = new { archived = true } });

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/batch-too-large");
        Assert.Contains("10000", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Empty(await api.EventsAsync("link.updated"));
        Assert.All(await api.LinksTaggedAsync(tag), l => Assert.False(l.Archived));
    }

    [Fact]
    public async Task AnInvalidSetChangesNoLink()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "inv-" + Guid.NewGuid().ToString("N")[..8];
        await api.BulkCreateAsync([.. Enumerable.Range(0, 3).Select(i => new { url = $"https://example.com/i/{i}", tags = new[] { tag } })]);

        var response = await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { tag }, set = new { url = "ftp://example.com/" } });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("set.url", problem["errors"]!.AsObject().Select(p => p.Key));
        Assert.All(await api.LinksTaggedAsync(tag), l => Assert.StartsWith("https://example.com/i/", l.Url, StringComparison.Ordinal));
        Assert.Empty(await api.EventsAsync("link.updated"));
    }

    [Fact]
    public async Task BulkDeleteByTagRemovesTheLinksWithTheirEventsAndRedirects()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "del-" + Guid.NewGuid().ToString("N")[..8];
        var created = await api.BulkCreateAsync([.. Enumerable.Range(0, 4).Select(i => new { url = $"https://example.com/d/{i}", tags = new[] { tag } })]);
        var kept = await api.CreateLinkAsync(new { url = "https://example.com/kept" });
        var visitor = tern.Visitor();
        Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync("/" + created.Results[0].Link!.Slug)).StatusCode);

        var response = await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { tag } });

        Assert.Equal(new BulkDeleteResponse(4), await response.ReadAsync<BulkDeleteResponse>());
        Assert.Empty(await api.LinksTaggedAsync(tag));
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/" + created.Results[0].Link!.Slug)).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync("/" + kept.Slug)).StatusCode);
        var deleted = await api.EventsAsync("link.deleted");
        Assert.Equal(created.Results.Select(r => r.Link!.Id).Order(), deleted.Select(e => e.Data.Link!.Id).Order());
    }

    [Fact]
    public async Task BulkDeleteByTagGoesThroughEveryPageOfLinks()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "many-" + Guid.NewGuid().ToString("N")[..8];
        for (var start = 0; start < 1200; start += 600)
        {
            await api.BulkCreateAsync([.. Enumerable.Range(start, 600).Select(i => new { url = $"https://example.com/m/{i}", tags = new[] { tag } })]);
        }

        var response = await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { tag } });

        Assert.Equal(new BulkDeleteResponse(1200), await response.ReadAsync<BulkDeleteResponse>());
        Assert.Empty(await api.LinksTaggedAsync(tag));
        Assert.Equal(1200, (await api.EventsAsync("link.deleted")).Select(e => e.Data.Link!.Id).Distinct().Count());
    }

    [Fact]
    public async Task BulkDeleteByIdsTouchesOnlyTheCallersWorkspace()
    {
        var theirs = await tern.Api().CreateLinkAsync(new { url = "https://example.com/theirs" });
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var mine = await api.CreateLinkAsync(new { url = "https://example.com/mine" });

        var response = await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { ids = new[] { mine.Id, theirs.Id } } });

        Assert.Equal(new BulkDeleteResponse(1), await response.ReadAsync<BulkDeleteResponse>());
        Assert.Equal(HttpStatusCode.OK, (await tern.Api().GetAsync($"/api/v1/links/{theirs.Id}")).StatusCode);
    }

    [Fact]
    public async Task BulkDeleteRefusesAnEmptyFilter()
    {
        var response = await tern.Api().PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { } });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("filter", problem["errors"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task TheBulkCallsNeedTheWriteScope()
    {
        var admin = tern.Api();
        var reader = await (await admin.PostJsonAsync("/api/v1/keys", new { name = "r", scopes = new[] { "links:read" } })).ReadAsync<CreatedKeyResponse>();
        var api = tern.Api(reader.Key);

        await (await api.PostJsonAsync("/api/v1/links/bulk", new { items = new[] { new { url = "https://example.com" } } })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await api.PatchJsonAsync("/api/v1/links/bulk", new { filter = new { tag = "x" }, set = new { archived = true } })).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { tag = "x" } })).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AnswersCsvResultsWhenTheCallerAcceptsCsv()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slug = UniqueSlug("csvres");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links/bulk")
        {
            Content = JsonContent(new { items = new object[] { new { url = "https://example.com/ok", slug }, new { url = "nope" } } }),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));

        var response = await api.SendAsync(request);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("index,status,id,slug,shortUrl,error", lines[0]);
        Assert.Matches($"^0,created,lnk_[0-9A-Z]{{26}},{slug},http://go.test/{slug},$", lines[1]);
        Assert.StartsWith("1,error,,,,", lines[2], StringComparison.Ordinal);
        Assert.Contains("url", lines[2], StringComparison.Ordinal);
    }

    private static StringContent JsonContent(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/json");
}

public sealed class BulkLinkTestsOnSqlite(TernFactory tern) : BulkLinkTests(tern), IClassFixture<TernFactory>;
public sealed class BulkLinkTestsOnPostgres(PostgresTernFactory tern) : BulkLinkTests(tern), IClassFixture<PostgresTernFactory>;
