using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Hosting;

/// <summary>
/// The OpenAPI document is one that generators trust: it passes OpenAPI.NET's validator (the reader behind Kiota),
/// its shapes are typed, and a client driven only by it (paths, methods, body and response schemas) can create,
/// change, list and read stats, with every answer, problems included, matching the schema the document gives.
/// </summary>
public sealed class ApiDocumentTests(TernFactory tern) : IClassFixture<TernFactory>
{
    private async Task<(string Json, OpenApiDocument Document, OpenApiDiagnostic Diagnostic)> LoadAsync()
    {
        var json = await tern.Visitor().GetStringAsync("/openapi/v1.json");
        var (document, diagnostic) = OpenApiDocument.Parse(json, "json", new OpenApiReaderSettings());
        return (json, document!, diagnostic!);
    }

    /// <summary>
    /// Redocly's linter with its recommended rules: no error, and no warning but the one the contract's paths cause.
    /// <c>/links/external/{externalId}</c> and <c>/links/{id}/qr</c> (or <c>/stats</c>) have the same shape; every
    /// router, ASP.NET Core's included, prefers the literal segment, so the two never meet. Needs <c>redocly</c> on the
    /// PATH (<c>npm install -g @redocly/cli</c>, as <c>.ci/run</c> does); skipped without it unless TERN_REQUIRE_LINTER=1.
    /// </summary>
    [Fact]
    public async Task RedoclyFindsNoErrorAndNoWarningButTheContractsPathShapes()
    {
        var redocly = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator)
            .Select(folder => Path.Combine(folder, "redocly")).FirstOrDefault(File.Exists);
        if (redocly is null)
        {
            const string reason = "redocly is not installed (npm install -g @redocly/cli)";
            Assert.False(Environment.GetEnvironmentVariable("TERN_REQUIRE_LINTER") == "1", reason + " and TERN_REQUIRE_LINTER=1");
            Assert.Skip(reason);
        }

        var (json, _, _) = await LoadAsync();
        var file = Path.Combine(Path.GetTempPath(), $"tern-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, json, TestContext.Current.CancellationToken);
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo(redocly, ["lint", file, "--format=json"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["NO_UPDATE_NOTIFIER"] = "1", ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true" },
            };
            using var lint = System.Diagnostics.Process.Start(start)!;
            var output = lint.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = lint.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await lint.WaitForExitAsync(TestContext.Current.CancellationToken);
            var report = JsonNode.Parse(await output) ?? throw new InvalidOperationException(await errors);

            var problems = report["problems"]!.AsArray().Select(p => $"{p!["severity"]} {p["ruleId"]}: {p["message"]}").ToList();
            Assert.True((int)report["totals"]!["errors"]! == 0, string.Join("\n", problems));
            Assert.All(problems, p => Assert.StartsWith("warn no-ambiguous-paths: ", p, StringComparison.Ordinal));
            Assert.Equal(0, lint.ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task TheDocumentReadsAndValidatesWithoutErrorsOrWarnings()
    {
        var (_, document, diagnostic) = await LoadAsync();
        Assert.Empty(diagnostic.Errors);
        Assert.Empty(diagnostic.Warnings);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, diagnostic.SpecificationVersion);
        var problems = document.Validate(ValidationRuleSet.GetDefaultRuleSet())?.ToList() ?? [];
        Assert.True(problems.Count == 0, string.Join("\n", problems.Select(p => $"{p.Pointer}: {p.Message}")));
    }

    [Fact]
    public async Task HasALicenseAServerWithoutTrailingSlashAndDescribedTagsWithLinksFirst()
    {
        var (_, document, _) = await LoadAsync();
        Assert.Equal("MIT", document.Info.License?.Identifier);
        var server = Assert.Single(document.Servers!);
        Assert.False(server.Url!.EndsWith('/'), server.Url);

        var tags = document.Tags!.ToList();
        Assert.Equal("Links", tags[0].Name);
        Assert.All(tags, t => Assert.False(string.IsNullOrWhiteSpace(t.Description), t.Name));
        var used = document.Paths.Values.SelectMany(p => p.Operations!.Values).SelectMany(o => o.Tags!).Select(t => t.Name).Distinct();
        Assert.All(used, name => Assert.Contains(name, tags.Select(t => t.Name)));
    }

    [Fact]
    public async Task EveryTimestampIsAStringOfFormatDateTimeAndNoPropertyIsAnEmptySchema()
    {
        var (json, _, _) = await LoadAsync();
        var schemas = JsonNode.Parse(json)!["components"]!["schemas"]!.AsObject();
        var timestamps = 0;
        foreach (var (name, schema) in schemas)
        {
            foreach (var (property, value) in schema!["properties"]?.AsObject() ?? [])
            {
                var where = $"{name}.{property}";
                Assert.True(value!.AsObject().Count > 0, $"{where} is an empty schema");
                Assert.True(value["type"] is not null || value["oneOf"] is not null || value["$ref"] is not null, $"{where} has no type");
                if ((string?)value["format"] == "date-time")
                {
                    timestamps++;
                    Assert.Contains("string", Types(value));
                }
            }
        }

        Assert.True(timestamps >= 10, $"only {timestamps} timestamps");
        Assert.Equal("date-time", (string?)schemas["LinkResponse"]!["properties"]!["createdAt"]!["format"]);
    }

    [Fact]
    public async Task PatchFieldsAreTypedNullableAndSayThatAbsentMeansUnchanged()
    {
        var (json, _, _) = await LoadAsync();
        var patch = JsonNode.Parse(json)!["components"]!["schemas"]!["UpdateLinkRequest"]!["properties"]!.AsObject();
        Assert.Equal(["null", "string"], Types(patch["title"]!).Order());
        Assert.Equal(["integer", "null"], Types(patch["maxClicks"]!).Order());
        Assert.Equal(["null", "string"], Types(patch["expiresAt"]!).Order());
        Assert.Equal("date-time", (string?)patch["expiresAt"]!["format"]);
        Assert.Equal(["array", "null"], Types(patch["tags"]!).Order());
        Assert.Equal("#/components/schemas/UtmParameters", (string?)patch["utm"]!["oneOf"]![1]!["$ref"]);
        Assert.All(patch, p => Assert.Contains("Absent: unchanged", (string?)p.Value!["description"], StringComparison.Ordinal));
        Assert.DoesNotContain(JsonNode.Parse(json)!["components"]!["schemas"]!.AsObject(), s => s.Key.StartsWith("Optional", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RequiredRequestFieldsAreMarked()
    {
        var (_, document, _) = await LoadAsync();
        Assert.Equal(["url"], document.Components!.Schemas!["CreateLinkRequest"].Required!);
        Assert.Equal(["events", "url"], document.Components.Schemas["CreateWebhookRequest"].Required!.Order());
        Assert.Contains("createdAt", document.Components.Schemas["LinkResponse"].Required!);
    }

    [Fact]
    public async Task EveryOperationDocumentsItsProblemsWithTheProblemSchema()
    {
        var (_, document, _) = await LoadAsync();
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations!)
            {
                var expected = new List<string> { "400", "401", "403", "429" };
                expected.AddRange(path.Contains('{', StringComparison.Ordinal) ? ["404"] : []);
                expected.AddRange(operation.RequestBody is not null ? ["413", "415"] : []);
                expected.AddRange(method == HttpMethod.Post ? ["409", "422"] : []);
                foreach (var status in expected)
                {
                    Assert.True(operation.Responses!.TryGetValue(status, out var response), $"{method} {path} does not document {status}");
                    var schema = Assert.IsType<OpenApiSchemaReference>(response.Content!["application/problem+json"].Schema, exactMatch: false);
                    Assert.Equal("Problem", schema.Reference.Id);
                }
            }
        }

        var createBody = document.Paths["/api/v1/links"].Operations![HttpMethod.Post].RequestBody!.Content!;
        Assert.Equal(["application/json", "application/x-www-form-urlencoded"], createBody.Keys.Order());
    }

    [Fact]
    public async Task AClientDrivenByTheDocumentCreatesPatchesListsReadsStatsAndSeesProblemDetails()
    {
        var (json, _, _) = await LoadAsync();
        var client = new DocumentClient(JsonNode.Parse(json)!.AsObject(), tern.Api());

        var created = await client.CallAsync("CreateLink", new { }, new JsonObject { ["url"] = "https://example.com/generated", ["tags"] = new JsonArray("gen") });
        Assert.Equal(201, created.Status);
        var id = (string)created.Body!["id"]!;

        var patched = await client.CallAsync("UpdateLink", new { id }, new JsonObject { ["title"] = "From the document", ["expiresAt"] = null });
        Assert.Equal(200, patched.Status);
        Assert.Equal("From the document", (string?)patched.Body!["title"]);

        var listed = await client.CallAsync("ListLinks", new { tag = "gen" }, null);
        Assert.Contains(listed.Body!["items"]!.AsArray(), l => (string?)l!["id"] == id);

        var stats = await client.CallAsync("GetLinkStats", new { id }, null);
        Assert.Equal(0, (long)stats.Body!["total"]!);

        var invalid = await client.CallAsync("CreateLink", new { }, new JsonObject { ["url"] = "ftp://example.com/x" });
        Assert.Equal(400, invalid.Status);
        Assert.NotNull(invalid.Body!["errors"]!["url"]);

        var missing = await client.CallAsync("GetLink", new { id = "lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P" }, null);
        Assert.Equal(404, missing.Status);
        Assert.Equal(404, (int)missing.Body!["status"]!);
    }

    private static IEnumerable<string> Types(JsonNode schema) => schema["type"] switch
    {
        JsonArray many => many.Select(t => (string)t!),
        JsonValue one => [(string)one!],
        _ => [],
    };

    /// <summary>
    /// A minimal generic client: it knows nothing of Tern but the document. It finds the operation by id, fills the
    /// path and query from arguments, sends the body, and checks the answer against the response schema the document
    /// gives for that status and content type (types, formats, required fields, references, oneOf).
    /// </summary>
    private sealed class DocumentClient(JsonObject document, HttpClient http)
    {
        public async Task<(int Status, JsonNode? Body)> CallAsync(string operationId, object arguments, JsonObject? body)
        {
            var (path, method, operation) = document["paths"]!.AsObject()
                .SelectMany(p => p.Value!.AsObject().Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value!)))
                .Single(o => (string?)o.Operation["operationId"] == operationId);
            var values = JsonSerializer.SerializeToNode(arguments)!.AsObject();
            var query = new List<string>();
            foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
            {
                var name = (string)parameter!["name"]!;
                if (values[name] is not { } value)
                {
                    continue;
                }

                if ((string?)parameter["in"] == "path")
                {
                    path = path.Replace("{" + name + "}", Uri.EscapeDataString((string)value!), StringComparison.Ordinal);
                }
                else if ((string?)parameter["in"] == "query")
                {
                    query.Add($"{name}={Uri.EscapeDataString(value.ToString())}");
                }
            }

            Assert.DoesNotContain('{', path);
            using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path + (query.Count > 0 ? "?" + string.Join('&', query) : ""));
            if (body is not null)
            {
                var schema = Resolve(operation["requestBody"]!["content"]!["application/json"]!["schema"]!);
                Conforms(body, schema, "request");
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            }

            using var response = await http.SendAsync(request);
            var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            var documented = operation["responses"]![status];
            Assert.True(documented is not null, $"{operationId} answered {status}, which the document does not list");
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                return ((int)response.StatusCode, null);
            }

            var mediaType = response.Content.Headers.ContentType!.MediaType!;
            var content = documented!["content"]?[mediaType];
            Assert.True(content is not null, $"{operationId} {status} answered {mediaType}, which the document does not list");
            var answer = await response.Content.ReadFromJsonAsync<JsonNode>();
            Conforms(answer, Resolve(content!["schema"]!), $"{operationId} {status}");
            return ((int)response.StatusCode, answer);
        }

        private JsonNode Resolve(JsonNode schema) =>
            (string?)schema["$ref"] is { } reference
                ? Resolve(document["components"]!["schemas"]![reference["#/components/schemas/".Length..]]!)
                : schema;

        private void Conforms(JsonNode? value, JsonNode schema, string where)
        {
            schema = Resolve(schema);
            if (schema["oneOf"] is JsonArray options)
            {
                Assert.True(options.Any(o => Matches(value, o!)), $"{where}: {value?.ToJsonString()} matches none of oneOf");
                return;
            }

            var types = Types(schema).ToList();
            var kind = value switch
            {
                null => "null",
                JsonObject => "object",
                JsonArray => "array",
                JsonValue v when v.GetValueKind() == JsonValueKind.String => "string",
                JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => "boolean",
                JsonValue v when v.TryGetValue<long>(out _) => "integer",
                _ => "number",
            };
            Assert.True(types.Count == 0 || types.Contains(kind) || (kind == "integer" && types.Contains("number")),
                $"{where}: {kind} where the document says {string.Join('|', types)}");
            if (kind == "string" && (string?)schema["format"] == "date-time")
            {
                Assert.True(DateTimeOffset.TryParse((string)value!, CultureInfo.InvariantCulture, out _), $"{where}: not a date-time");
            }

            if (value is JsonObject obj)
            {
                foreach (var required in schema["required"]?.AsArray() ?? [])
                {
                    Assert.True(obj.ContainsKey((string)required!), $"{where}: required {required} is missing");
                }

                foreach (var (name, property) in obj)
                {
                    if (schema["properties"]?[name] is { } propertySchema)
                    {
                        Conforms(property, propertySchema, $"{where}.{name}");
                    }
                    else if (schema["additionalProperties"] is JsonObject additional)
                    {
                        Conforms(property, additional, $"{where}.{name}");
                    }
                }
            }
            else if (value is JsonArray array && schema["items"] is { } items)
            {
                foreach (var item in array)
                {
                    Conforms(item, items, $"{where}[]");
                }
            }
        }

        private bool Matches(JsonNode? value, JsonNode schema)
        {
            try
            {
                Conforms(value, schema, "");
                return true;
            }
            catch (Xunit.Sdk.XunitException)
            {
                return false;
            }
        }
    }
}
