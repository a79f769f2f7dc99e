using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>Links as CSV, in (bulk create) and out (the list), on one storage backend.</summary>
public abstract class LinkCsvTests(TernFactory tern)
{
    private static StringContent Csv(string text) => new(text, Encoding.UTF8, "text/csv");

    [Fact]
    public async Task CreatesLinksFromCsvRows()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var slug = UniqueSlug("csv");
        var csv = "\uFEFFurl,slug,title,tags,utm_source,maxClicks\r\n" +
            $"https://example.com/a,{slug},\"Spring, \"\"big\"\" sale\nsecond line\",spring|sms,newsletter,100\r\n" +
            "https://example.com/b,,,,,\r\n";

        var response = await api.PostAsync("/api/v1/links/bulk", Csv(csv));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await response.ReadAsync<BulkCreateResponse>()).Results;
        Assert.Equal(["created", "created"], results.Select(r => r.Status));
        var first = results[0].Link!;
        Assert.Equal(slug, first.Slug);
        Assert.Equal("Spring, \"big\" sale\nsecond line", first.Title);
        Assert.Equal(["spring", "sms"], first.Tags);
        Assert.Equal("https://example.com/a?utm_source=newsletter", first.Url);
        Assert.Equal(100, first.MaxClicks);
        Assert.Equal("https://example.com/b", results[1].Link!.Url);
    }

    [Fact]
    public async Task ABadCellFailsOnlyItsRow()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var response = await api.PostAsync("/api/v1/links/bulk", Csv("url,maxClicks\nhttps://example.com/a,lots\nhttps://example.com/b,2\n"));

        var results = (await response.ReadAsync<BulkCreateResponse>()).Results;
        Assert.Equal("error", results[0].Status);
        Assert.Equal("/problems/validation", results[0].Error!.Type);
        Assert.Contains("maxClicks", results[0].Error!.Errors!.Keys);
        Assert.Equal("created", results[1].Status);
    }

    [Theory]
    [InlineData("url,colour\nhttps://example.com/,red\n", "colour")]
    [InlineData("url,title\nhttps://example.com/,a,b\n", "line 2")]
    [InlineData("title\nx\n", "url")]
    [InlineData("", "header")]
    public async Task AnUnreadableCsvAnswers400NamingWhy(string csv, string mention)
    {
        var response = await tern.Api().PostAsync("/api/v1/links/bulk", Csv(csv));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/malformed-request");
        Assert.Contains(mention, (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoreThanAThousandRowsAnswer413()
    {
        var csv = "url\n" + string.Concat(Enumerable.Range(0, 1001).Select(i => $"https://example.com/{i}\n"));
        var response = await tern.Api().PostAsync("/api/v1/links/bulk", Csv(csv));
        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/batch-too-large");
    }

    [Fact]
    public async Task ExportsTheListAsCsvThatImportsBackToTheSameLinks()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var tag = "rt-" + Guid.NewGuid().ToString("N")[..8];
        var original = await api.BulkCreateAsync(
            new
            {
                url = "https://example.com/a?x=1,2",
                slug = UniqueSlug("rt"),
                title = "Quote \" and comma, and\nline",
                tags = new[] { tag, "second" },
                externalId = "ext-" + tag,
                expiresAt = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero),
                expiredUrl = "https://example.com/over",
                maxClicks = 50,
                redirectType = 307,
                forwardQuery = false,
                utm = new { source = "sms", medium = "text", campaign = "c", term = "t", content = "k" },
            },
            new { url = "https://example.com/b", tags = new[] { tag }, domain = "brand.test", title = "-5 degrees" });
        var before = original.Results.Select(r => r.Link!).OrderBy(l => l.Slug).ToList();

        var export = await api.GetAsync($"/api/v1/links?tag={tag}&format=csv");
        Assert.Equal("text/csv", export.Content.Headers.ContentType?.MediaType);
        var csv = await export.Content.ReadAsStringAsync();
        Assert.StartsWith("id,shortUrl,url,slug,domain,title,tags,externalId,expiresAt,expiredUrl,maxClicks,redirectType,forwardQuery," +
            "utm_source,utm_medium,utm_campaign,utm_term,utm_content,startsAt,prelaunchUrl,preview_title,preview_description,preview_image," +
            "clicks,archived,createdAt,updatedAt\r\n", csv, StringComparison.Ordinal);
        Assert.Contains(",'-5 degrees,", csv, StringComparison.Ordinal);

        var again = (await (await api.PostAsync("/api/v1/links/bulk", Csv(csv))).ReadAsync<BulkCreateResponse>()).Results;
        Assert.All(again, r => Assert.Equal("existing", r.Status));

        await api.PostJsonAsync("/api/v1/links/bulk-delete", new { filter = new { tag } });
        var recreated = (await (await api.PostAsync("/api/v1/links/bulk", Csv(csv))).ReadAsync<BulkCreateResponse>()).Results;
        Assert.All(recreated, r => Assert.Equal("created", r.Status));
        var after = recreated.Select(r => r.Link!).OrderBy(l => l.Slug).ToList();
        Assert.Equal(before.Select(Definition), after.Select(Definition));
        Assert.Equal(before.Select(l => l.CreatedAt), after.Select(l => l.CreatedAt));
        Assert.NotEqual(before.Select(l => l.Id), after.Select(l => l.Id));
    }

    [Fact]
    public async Task AcceptTextCsvOnTheListGivesCsvToo()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var link = await api.CreateLinkAsync(new { url = "https://example.com/accept", title = "=1+1" });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/links");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));

        var response = await api.SendAsync(request);

        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{link.Id},{link.ShortUrl},https://example.com/accept,{link.Slug},go.test,'=1+1,", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownFormatAnswers400()
    {
        var response = await tern.Api().GetAsync("/api/v1/links?format=xlsx");
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("format", problem["errors"]!.AsObject().Select(p => p.Key));
    }

    private static object Definition(LinkResponse link) => new
    {
        link.Slug,
        link.Domain,
        link.Url,
        link.Title,
        Tags = string.Join("|", link.Tags),
        link.ExternalId,
        link.ExpiresAt,
        link.ExpiredUrl,
        link.MaxClicks,
        link.RedirectType,
        link.ForwardQuery,
        link.Utm,
    };
}

public sealed class LinkCsvTestsOnSqlite(TernFactory tern) : LinkCsvTests(tern), IClassFixture<TernFactory>;
public sealed class LinkCsvTestsOnPostgres(PostgresTernFactory tern) : LinkCsvTests(tern), IClassFixture<PostgresTernFactory>;
