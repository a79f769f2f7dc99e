using System.Net;
using System.Text.Json.Nodes;
using Tern.Server.Hosting;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Hosting;

public sealed class DocsAndHealthTests(TernFactory tern) : IClassFixture<TernFactory>
{
    [Fact]
    public async Task ServesTheOpenApiDocumentWithoutAKeyWithNamedSummarisedOperations()
    {
        var response = await tern.Visitor().GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("Tern API", (string?)document["info"]?["title"]);
        Assert.Equal("bearer", (string?)document["components"]?["securitySchemes"]?["apiKey"]?["scheme"]);

        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => op.Value!))
            .ToList();
        var ids = operations.Select(op => (string?)op["operationId"]).ToList();
        foreach (var expected in new[] { "CreateLink", "ListLinks", "GetLink", "UpdateLink", "DeleteLink", "UpsertLinkByExternalId", "CreateLinks", "UpdateLinks", "DeleteLinks", "CreateLinkMatrix", "CreateKey", "RevokeKey", "CreateWorkspace" })
        {
            Assert.Contains(expected, ids);
        }

        Assert.All(operations, op => Assert.False(string.IsNullOrEmpty((string?)op["summary"]), op.ToJsonString()));
        Assert.Null(document["paths"]!["/{slug}"]);
        var bulkBody = document["paths"]!["/api/v1/links/bulk"]!["post"]!["requestBody"]!["content"]!.AsObject();
        Assert.Equal(["application/json", "text/csv"], bulkBody.Select(c => c.Key).Order());
    }

    [Fact]
    public async Task ServesTheInteractiveReferenceAndItsScriptFromTernItself()
    {
        var visitor = tern.Visitor();
        var page = await visitor.GetAsync("/docs");
        if (page.StatusCode is HttpStatusCode.MovedPermanently or HttpStatusCode.Found)
        {
            page = await visitor.GetAsync(page.Headers.Location);
        }

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("cdn.jsdelivr.net", html, StringComparison.Ordinal);
        var script = System.Text.RegularExpressions.Regex.Match(html, "<script[^>]+src=\"([^\"]+)\"").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(script), html);
        Assert.DoesNotContain("://", script, StringComparison.Ordinal);
        var asset = await visitor.GetAsync(new Uri(new Uri("http://go.test/docs/"), script));
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.True((await asset.Content.ReadAsByteArrayAsync()).Length > 10_000);
    }

    [Fact]
    public async Task HealthAndReadinessAnswer200WhenStorageIsReachable()
    {
        var health = await tern.Visitor().GetAsync("/healthz");
        var ready = await tern.Visitor().GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok\n", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", ready.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task HealthProbesAnswerOnlyGet()
    {
        var response = await tern.Visitor().PostAsync("/readyz", null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task EveryProblemTypeResolvesToADescription()
    {
        // Every ProblemKind the server declares, wherever it is declared, so a new kind cannot be left out of the list.
        var declared = typeof(Problems).Assembly.GetTypes()
            .SelectMany(type => type.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static))
            .Where(field => field.FieldType == typeof(ProblemKind))
            .Select(field => (ProblemKind)field.GetValue(null)!)
            .ToList();
        Assert.True(declared.Count >= 17);
        Assert.All(declared, kind => Assert.Contains(kind, Problems.All));

        foreach (var kind in Problems.All)
        {
            var response = await tern.Visitor().GetAsync(kind.Type);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.StartsWith($"{kind.Title} ({kind.Status})", text, StringComparison.Ordinal);
            Assert.Contains(kind.Description, text, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await tern.Visitor().GetAsync("/problems/no-such-kind")).StatusCode);
    }
}
