using System.Net;
using System.Text;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>The campaign matrix on one storage backend; subclasses pick the backend.</summary>
public abstract class MatrixTests(TernFactory tern)
{
    private static readonly string[] Brands = ["acme", "globex", "initech", "umbrella", "hooli"];
    private static readonly string[] Channels = ["sms", "email", "push", "web", "social", "print", "radio", "tv", "qr", "partner"];
    private static readonly string[] Variants = ["a", "b", "c", "d"];

    private static object Campaign(string run, bool dryRun = false) => new
    {
        template = new
        {
            url = "https://{brand}.example/offer",
            slug = run + "-{brand}-{channel}-{variant}",
            title = "{brand} on {channel}",
            tags = new[] { run, "brand-{brand}" },
            utm = new { source = "{channel}", campaign = "spring-{brand}-{variant}" },
        },
        dimensions = new Dictionary<string, string[]> { ["brand"] = Brands, ["channel"] = Channels, ["variant"] = Variants },
        dryRun,
    };

    private static string Run() => "m" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task ExpandsFiveBrandsTenChannelsAndFourVariantsIntoTwoHundredLinksInOrder()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();

        var response = await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await response.ReadAsync<BulkCreateResponse>()).Results;
        Assert.Equal(200, results.Count);
        Assert.All(results, r => Assert.Equal("created", r.Status));
        var expected = Brands.SelectMany(b => Channels.SelectMany(c => Variants.Select(v => $"{run}-{b}-{c}-{v}"))).ToList();
        Assert.Equal(expected, results.Select(r => r.Link!.Slug));
        var first = results[1].Link!;
        Assert.Equal($"{run}-acme-sms-b", first.Slug);
        Assert.Equal("https://acme.example/offer?utm_source=sms&utm_campaign=spring-acme-b", first.Url);
        Assert.Equal("acme on sms", first.Title);
        Assert.Equal([run, "brand-acme"], first.Tags);
        Assert.Equal(200, (await api.EventsAsync("link.created")).Count);
        Assert.Equal(40, (await api.LinksTaggedAsync("brand-hooli")).Count);
    }

    [Fact]
    public async Task ADryRunPreviewsTheLinksAndWritesNothing()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();

        var preview = await (await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run, dryRun: true))).ReadAsync<BulkCreateResponse>();

        Assert.Equal(200, preview.Results.Count);
        Assert.All(preview.Results, r => Assert.Equal("created", r.Status));
        Assert.All(preview.Results, r => Assert.Null(r.Link));
        Assert.Equal($"{run}-hooli-partner-d", preview.Results[199].Expanded!.Slug);
        Assert.Equal("https://hooli.example/offer", preview.Results[199].Expanded!.Url);
        Assert.Equal("spring-hooli-d", preview.Results[199].Expanded!.Utm!.Campaign);
        Assert.Empty(await api.LinksTaggedAsync(run));
        Assert.Empty(await api.EventsAsync("link.created"));

        await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run));
        var afterwards = await (await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run, dryRun: true))).ReadAsync<BulkCreateResponse>();
        Assert.All(afterwards.Results, r => Assert.Equal("existing", r.Status));
    }

    [Fact]
    public async Task CombinationsThatDefineTheSameLinkAnswerExistingAfterTheFirstAlsoInADryRun()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();
        object Matrix(bool dryRun) => new
        {
            template = new { url = "https://{brand}.example/", slug = run + "-{brand}" }, // {channel} changes nothing
            dimensions = new { brand = new[] { "acme", "hooli" }, channel = new[] { "sms", "email" } },
            dryRun,
        };

        var preview = await (await api.PostJsonAsync("/api/v1/links/matrix", Matrix(dryRun: true))).ReadAsync<BulkCreateResponse>();
        var written = await (await api.PostJsonAsync("/api/v1/links/matrix", Matrix(dryRun: false))).ReadAsync<BulkCreateResponse>();

        string[] expected = ["created", "existing", "created", "existing"];
        Assert.Equal(expected, preview.Results.Select(r => r.Status));
        Assert.Equal(expected, written.Results.Select(r => r.Status));
        Assert.Equal(written.Results[0].Link!.Id, written.Results[1].Link!.Id);
        Assert.Equal(2, (await api.EventsAsync("link.created")).Count);
    }

    [Fact]
    public async Task RunningTheSameMatrixAgainChangesNothing()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();
        var first = await (await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run))).ReadAsync<BulkCreateResponse>();

        var second = await (await api.PostJsonAsync("/api/v1/links/matrix", Campaign(run))).ReadAsync<BulkCreateResponse>();

        Assert.All(second.Results, r => Assert.Equal("existing", r.Status));
        Assert.Equal(first.Results.Select(r => r.Link!.Id), second.Results.Select(r => r.Link!.Id));
        Assert.Equal(200, (await api.EventsAsync("link.created")).Count);
    }

    [Fact]
    public async Task AnUnknownPlaceholderAnswers400NamingIt()
    {
        var response = await tern.Api().PostJsonAsync("/api/v1/links/matrix", new
        {
            template = new { url = "https://example.com/{brand}", slug = "{brand}-{chanel}" },
            dimensions = new { brand = new[] { "a" }, channel = new[] { "sms" } },
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("{chanel}", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Contains("template.slug", problem["errors"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task AMatrixOverAThousandCombinationsAnswers413WithItsSize()
    {
        var response = await tern.Api().PostJsonAsync("/api/v1/links/matrix", new
        {
            template = new { url = "https://example.com/{a}/{b}" },
            dimensions = new { a = Enumerable.Range(0, 40).Select(i => $"a{i}"), b = Enumerable.Range(0, 26).Select(i => $"b{i}") },
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/batch-too-large");
        Assert.Contains("40 × 26 = 1040", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Contains("1000", (string?)problem["detail"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"dimensions\": {\"a\": [\"x\"]}}", "template")]
    [InlineData("{\"template\": {\"url\": \"https://example.com\"}}", "dimensions")]
    [InlineData("{\"template\": {\"url\": \"https://example.com\"}, \"dimensions\": {}}", "dimensions")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/{a}\"}, \"dimensions\": {\"a\": []}}", "dimensions.a")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/{a}\"}, \"dimensions\": {\"a\": [\"\"]}}", "dimensions.a")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/{a}\"}, \"dimensions\": {\"a\": [\"x\", \"x\"]}}", "repeats")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/{a}\"}, \"dimensions\": {\"a\": [\"x\", null]}}", "dimensions.a")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/\"}, \"dimensions\": {\"a b\": [\"x\"]}}", "dimension name")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/\"}, \"dimensions\": {\"a\": \"x\"}}", "$.dimensions")]
    [InlineData("{\"template\": {\"url\": \"https://example.com/\"}, \"dimensions\": {\"a\": [\"x\"]}, \"dryRun\": \"yes\"}", "$.dryRun")]
    public async Task AMalformedMatrixAnswers400(string body, string mention)
    {
        var response = await tern.Api().PostAsync("/api/v1/links/matrix", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(mention, problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoreThanTenDimensionsAnswer400()
    {
        var dimensions = Enumerable.Range(0, 11).ToDictionary(i => $"d{i}", i => new[] { "x" });
        var response = await tern.Api().PostJsonAsync("/api/v1/links/matrix", new { template = new { url = "https://example.com/" }, dimensions });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("at most 10 dimensions", problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhenAnyCombinationIsInvalidNothingIsWritten()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();

        var response = await api.PostJsonAsync("/api/v1/links/matrix", new
        {
            template = new { url = "https://example.com/{page}", slug = run + "-{page}", tags = new[] { run } },
            dimensions = new { page = new[] { "ok", "also-ok", "not ok" } },
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("nothing was written", (string?)problem["detail"], StringComparison.Ordinal);
        var errors = problem["errors"]!.AsObject();
        Assert.Contains("links[2].url", errors.Select(p => p.Key));
        Assert.Contains("links[2].slug", errors.Select(p => p.Key));
        Assert.Contains("page=not ok", errors.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(await api.LinksTaggedAsync(run));
    }

    [Fact]
    public async Task CombinationsThatCollideOnOneSlugAreRefusedBeforeWriting()
    {
        var api = await BulkTestClient.NewWorkspaceAsync(tern);
        var run = Run();

        var response = await api.PostJsonAsync("/api/v1/links/matrix", new
        {
            template = new { url = "https://example.com/{brand}/{channel}", slug = run + "-{brand}", tags = new[] { run } },
            dimensions = new { brand = new[] { "a" }, channel = new[] { "sms", "email" } },
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("links[1]", problem["errors"]!.AsObject().Select(p => p.Key));
        Assert.Empty(await api.LinksTaggedAsync(run));
    }
}

public sealed class MatrixTestsOnSqlite(TernFactory tern) : MatrixTests(tern), IClassFixture<TernFactory>;
public sealed class MatrixTestsOnPostgres(PostgresTernFactory tern) : MatrixTests(tern), IClassFixture<PostgresTernFactory>;
