using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using Tern.Contracts;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Webhooks;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Hardening;

/// <summary>Requests an attacker or a careless integration sends: each answered with its 4xx, nothing stored from it.</summary>
public abstract class HardeningTests(TernFactory tern)
{
    private readonly HttpClient _admin = tern.Api();

    // NUL (U+0000)

    [Theory]
    [InlineData("title")]
    [InlineData("externalId")]
    [InlineData("slug")]
    public async Task ANulInALinkFieldAnswers400NamingTheField(string field)
    {
        var body = new JsonObject { ["url"] = "https://example.com/nul", [field] = "a\u0000b" };
        var problem = await (await PostRawAsync("/api/v1/links", body.ToJsonString())).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    [Fact]
    public async Task ANulInOneBulkItemFailsThatItemAloneNamingTheField()
    {
        var slug = UniqueSlug("bulk-nul");
        var body = $$"""{"items": [{"url": "https://example.com/ok", "slug": "{{slug}}"}, {"url": "https://example.com/bad", "title": "x\u0000y"}]}""";
        var response = await PostRawAsync("/api/v1/links/bulk", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await response.ReadAsync<BulkCreateResponse>()).Results;
        Assert.Equal("created", results[0].Status);
        Assert.Equal("error", results[1].Status);
        Assert.NotNull(results[1].Error?.Errors?["title"]);
    }

    [Fact]
    public async Task ANulInACsvCellFailsThatRowNamingTheColumn()
    {
        var content = new StringContent($"url,slug,title\r\nhttps://example.com/csv,{UniqueSlug("csv-nul")},a\0b\r\n", Encoding.UTF8, "text/csv");
        var response = await _admin.PostAsync("/api/v1/links/bulk", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single((await response.ReadAsync<BulkCreateResponse>()).Results);
        Assert.Equal("error", result.Status);
        Assert.NotNull(result.Error?.Errors?["title"]);
    }

    [Theory]
    [InlineData("/api/v1/links?q=a%00b", "q")]
    [InlineData("/api/v1/links?tag=%00", "tag")]
    [InlineData("/api/v1/events?type=link.created%00", "type")]
    [InlineData("/api/v1/clicks?linkId=lnk_%00", "linkId")]
    public async Task ANulInAQueryParameterAnswers400NamingIt(string path, string parameter)
    {
        var problem = await (await _admin.GetAsync(path)).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[parameter]);
    }

    // Content-Type charsets

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=utf8")]
    [InlineData("application/json; charset=")]
    [InlineData("application/json; charset=\"\"")]
    public async Task EverySpellingOfUtf8JsonIsAccepted(string contentType)
    {
        var response = await PostWithContentTypeAsync("/api/v1/links", $$"""{"url": "https://example.com/charset", "slug": "{{UniqueSlug("cs")}}"}""", contentType);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/api/v1/links", "application/json; charset=bogus")]
    [InlineData("/api/v1/links", "application/json; charset=iso-8859-1")]
    [InlineData("/api/v1/links", "application/json; charset=\"utf-16\"")]
    [InlineData("/api/v1/links/bulk", "application/json; charset=latin1")]
    [InlineData("/api/v1/webhooks", "application/json; charset=bogus")]
    [InlineData("/api/v1/keys", "application/json; charset=bogus")]
    [InlineData("/api/v1/workspaces", "application/json; charset=bogus")]
    public async Task AnyOtherCharsetAnswers415(string path, string contentType)
    {
        var response = await PostWithContentTypeAsync(path, """{"url": "https://example.com/charset"}""", contentType);
        var problem = await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "/problems/unsupported-media-type");
        Assert.Contains("UTF-8", (string?)problem["detail"], StringComparison.Ordinal);
    }

    // Stats ranges

    [Theory]
    [InlineData("to=0001-01-01T00:00:00Z", "to")]
    [InlineData("from=0001-01-01T00:00:00Z&to=0001-02-01T00:00:00Z", "from")]
    [InlineData("from=9999-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", "to")]
    [InlineData("from=9998-06-01T00:00:00Z&to=9999-12-31T23:59:59Z&interval=month", "to")]
    [InlineData("to=1970-01-10T00:00:00Z", "to")]
    public async Task StatsRangesBeyondTheCalendarAnswer400WithFieldErrors(string query, string field)
    {
        var problem = await (await _admin.GetAsync("/api/v1/stats?" + query)).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    [Fact]
    public async Task AMonthlyRangeEndingAtTheLastAllowedInstantIsAnswered()
    {
        var response = await _admin.GetAsync("/api/v1/stats?from=9998-06-01T00:00:00Z&to=9999-01-01T00:00:00Z&interval=month");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // Numbers and booleans as strings, and type names

    [Fact]
    public async Task NumbersAndBooleansSentAsStringsAreAccepted()
    {
        var response = await PostRawAsync("/api/v1/links",
            $$"""{"url": "https://example.com/zapier", "slug": "{{UniqueSlug("zap")}}", "maxClicks": "100", "redirectType": "301", "forwardQuery": "false"}""");

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var link = await response.ReadAsync<LinkResponse>();
        Assert.Equal(100, link.MaxClicks);
        Assert.Equal(301, link.RedirectType);
        Assert.False(link.ForwardQuery);
    }

    [Theory]
    [InlineData("""{"url": "https://example.com", "maxClicks": "many"}""", "maxClicks")]
    [InlineData("""{"url": "https://example.com", "maxClicks": {}}""", "maxClicks")]
    [InlineData("""{"url": "https://example.com", "forwardQuery": "maybe"}""", "forwardQuery")]
    [InlineData("""{"url": "https://example.com", "tags": "a"}""", "tags")]
    [InlineData("""{"url": "https://example.com", "utm": {"source": 5}}""", "utm.source")]
    [InlineData("""{"url": "https://example.com", "slgu": "typo"}""", "slgu")]
    public async Task JsonThatDoesNotBindAnswersFieldErrorsWithoutDotNetTypeNames(string body, string field)
    {
        var response = await PostRawAsync("/api/v1/links", body);
        var text = await response.Content.ReadAsStringAsync();
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);

        Assert.NotNull(problem["errors"]?[field]);
        Assert.DoesNotContain("Tern.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("CreateLinkRequest", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABulkItemThatDoesNotBindNamesItsFieldWithoutTypeNames()
    {
        var response = await PostRawAsync("/api/v1/links/bulk", """{"items": [{"url": "https://example.com", "maxClicks": [1]}]}""");
        var text = await response.Content.ReadAsStringAsync();

        var result = Assert.Single((await response.ReadAsync<BulkCreateResponse>()).Results);
        Assert.NotNull(result.Error?.Errors?["maxClicks"]);
        Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
    }

    // Own short domains

    [Theory]
    [InlineData("http://go.test/elsewhere")]
    [InlineData("http://GO.test/x?y=1")]
    [InlineData("https://brand.test/loop")]
    public async Task ADestinationOnOneOfTernsOwnShortDomainsIsRefused(string url)
    {
        var problem = await (await _admin.PostJsonAsync("/api/v1/links", new { url })).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["url"]);
    }

    // Webhook addresses

    [Theory]
    [InlineData("http://127.0.0.1.:8080/")]
    [InlineData("http://2130706433/")]
    [InlineData("https://example.com./hook")]
    public async Task AWebhookAtANonCanonicalAddressIsRefused(string url)
    {
        var problem = await (await _admin.PostJsonAsync("/api/v1/webhooks", new { url, events = new[] { "link.created" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["url"]);
    }

    // Secrets at rest

    [Fact]
    public async Task AReplayedKeyCreationAnswersTheSameKeyWithTheSecretWithheldAndStoresNoSecret()
    {
        var idempotencyKey = Guid.NewGuid().ToString();
        var first = await PostWithIdempotencyKeyAsync("/api/v1/keys", """{"name": "replayed", "scopes": ["links:read"]}""", idempotencyKey);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await first.ReadAsync<CreatedKeyResponse>();
        Assert.NotNull(created.Key);

        var replay = await PostWithIdempotencyKeyAsync("/api/v1/keys", """{"name": "replayed", "scopes": ["links:read"]}""", idempotencyKey);
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        var replayed = await replay.ReadAsync<CreatedKeyResponse>();
        Assert.Equal(created.Id, replayed.Id);
        Assert.Null(replayed.Key);
        Assert.True(replayed.SecretWithheld);

        Assert.DoesNotContain(created.Key, await StoredIdempotentBodiesAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await tern.Api(created.Key).GetAsync("/api/v1/links")).StatusCode);
    }

    [Fact]
    public async Task WebhookSecretsAreEncryptedAtRestAndAReplayWithholdsThem()
    {
        var idempotencyKey = Guid.NewGuid().ToString();
        var body = """{"url": "https://hooks.example.com/tern", "events": ["link.created"]}""";
        var first = await PostWithIdempotencyKeyAsync("/api/v1/webhooks", body, idempotencyKey);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await first.ReadAsync<WebhookResponse>();
        Assert.StartsWith("whsec_", created.Secret, StringComparison.Ordinal);

        var replayed = await (await PostWithIdempotencyKeyAsync("/api/v1/webhooks", body, idempotencyKey)).ReadAsync<WebhookResponse>();
        Assert.Equal(created.Id, replayed.Id);
        Assert.Null(replayed.Secret);
        Assert.True(replayed.SecretWithheld);

        await using var connection = await tern.Get<Database>().OpenAsync(TestContext.Current.CancellationToken);
        var stored = await connection.QuerySingleAsync<string>("SELECT secret FROM webhooks WHERE id = @id", new { id = created.Id });
        Assert.StartsWith(WebhookSecrets.Marker, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Secret!["whsec_".Length..], stored, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Secret["whsec_".Length..], await StoredIdempotentBodiesAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APlaintextWebhookSecretFromAnEarlierVersionKeepsWorkingAndIsEncryptedAtStart()
    {
        var created = await (await _admin.PostJsonAsync("/api/v1/webhooks", new { url = "https://hooks.example.com/legacy", events = new[] { "link.created" } }))
            .ReadAsync<WebhookResponse>();
        var database = tern.Get<Database>();
        await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(
            "UPDATE webhooks SET secret = @secret WHERE id = @id", new { secret = created.Secret, id = created.Id }, transaction), TestContext.Current.CancellationToken);
        var store = tern.Get<WebhookStore>();
        Assert.Equal(created.Secret, (await store.FindAsync(created.WorkspaceIdOf(), created.Id, TestContext.Current.CancellationToken))!.Secret);

        Assert.True(await tern.Get<WebhookSecrets>().EncryptStoredAsync(database, TestContext.Current.CancellationToken) >= 1);

        await using var connection = await database.OpenAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith(WebhookSecrets.Marker, await connection.QuerySingleAsync<string>("SELECT secret FROM webhooks WHERE id = @id", new { id = created.Id }), StringComparison.Ordinal);
        Assert.Equal(created.Secret, (await store.FindAsync(created.WorkspaceIdOf(), created.Id, TestContext.Current.CancellationToken))!.Secret);
    }

    // Scopes across workspaces

    [Fact]
    public async Task OnlyKeysOfTheDefaultWorkspaceMayHoldAdmin()
    {
        var workspace = await CreateWorkspaceAsync();
        var problem = await (await _admin.PostJsonAsync("/api/v1/keys", new { name = "b-admin", scopes = new[] { "admin" }, workspaceId = workspace }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.Contains("instance scope", problem["errors"]?["scopes"]?[0]?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysWriteManagesTheKeysOfItsOwnWorkspaceOnly()
    {
        var workspace = await CreateWorkspaceAsync();
        var manager = tern.Api((await CreateKeyAsync(["keys:write", "links:read"], workspace)).Key);
        var victim = await CreateKeyAsync(["links:read"]);

        var own = await manager.PostJsonAsync("/api/v1/keys", new { name = "reader", scopes = new[] { "links:read" } });
        Assert.Equal(HttpStatusCode.Created, own.StatusCode);
        var ownKey = await own.ReadAsync<CreatedKeyResponse>();
        Assert.Equal(workspace, ownKey.WorkspaceId);
        Assert.Contains(ownKey.Id, await manager.GetStringAsync("/api/v1/keys"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await manager.DeleteAsync($"/api/v1/keys/{ownKey.Id}")).StatusCode);

        await (await manager.GetAsync("/api/v1/keys?workspaceId=ws_default")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await manager.PostJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "links:read" }, workspaceId = "ws_default" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await manager.DeleteAsync($"/api/v1/keys/{victim.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await manager.PostJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "admin" } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await manager.PostJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "links:write" } })).AssertProblemAsync(HttpStatusCode.BadRequest);
        await (await manager.PostJsonAsync("/api/v1/workspaces", new { name = "x" })).AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await tern.Api(victim.Key).GetAsync("/api/v1/links")).StatusCode);
    }

    [Fact]
    public async Task AnAdminKeyStoredInAnotherWorkspaceActsWithoutAdmin()
    {
        var workspace = await CreateWorkspaceAsync();
        var secret = Tern.Server.Access.ApiKeySecret.Generate();
        await tern.Get<Tern.Server.Access.AccessStore>().RegisterKeyAsync(secret, workspace, "old admin", ["admin", "links:read"], TestContext.Current.CancellationToken);
        var client = tern.Api(secret);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/links")).StatusCode);
        await (await client.GetAsync("/api/v1/keys?workspaceId=ws_default")).AssertProblemAsync(HttpStatusCode.Forbidden);
        await (await client.GetAsync("/api/v1/workspaces")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheConfiguredAdminKeyCannotBeRevokedThroughTheApi()
    {
        var keys = await _admin.GetFromJsonAsync<ListResponse<KeyResponse>>("/api/v1/keys?workspaceId=ws_default", Json);
        var configured = keys!.Items.Single(k => TernFactory.AdminKey.StartsWith(k.Prefix, StringComparison.Ordinal) && k.Name.Contains("Tern:AdminKey", StringComparison.Ordinal));

        var problem = await (await _admin.DeleteAsync($"/api/v1/keys/{configured.Id}")).AssertProblemAsync(HttpStatusCode.Conflict, "/problems/configured-key");
        Assert.Contains("configuration", (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/api/v1/links")).StatusCode);
    }

    // Per-key rate limits

    [Fact]
    public async Task AKeyWithItsOwnRateLimitIsHeldToItWithRateLimitHeaders()
    {
        var response = await _admin.PostJsonAsync("/api/v1/keys", new { name = "slow", scopes = new[] { "links:read" }, rateLimit = new { perSecond = 1, burst = 2 } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var key = await response.ReadAsync<CreatedKeyResponse>();
        Assert.Equal(2, key.RateLimit?.Burst);
        var client = tern.Api(key.Key);

        var first = await client.GetAsync("/api/v1/links");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("2", first.Headers.GetValues("RateLimit-Limit").Single());
        Assert.Equal("1", first.Headers.GetValues("RateLimit-Remaining").Single());
        Assert.True(first.Headers.Contains("RateLimit-Reset"));

        HttpResponseMessage limited;
        do
        {
            limited = await client.GetAsync("/api/v1/links");
        }
        while (limited.StatusCode == HttpStatusCode.OK);

        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "/problems/rate-limited");
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("0", limited.Headers.GetValues("RateLimit-Remaining").Single());
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/api/v1/links")).StatusCode);
    }

    [Fact]
    public async Task AnInvalidRateLimitAnswers400NamingTheField()
    {
        var problem = await (await _admin.PostJsonAsync("/api/v1/keys", new { name = "x", scopes = new[] { "links:read" }, rateLimit = new { perSecond = 0, burst = 5 } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["rateLimit.perSecond"]);
    }

    private async Task<string> StoredIdempotentBodiesAsync()
    {
        await using var connection = await tern.Get<Database>().OpenAsync(TestContext.Current.CancellationToken);
        var bodies = await connection.QueryAsync<byte[]?>("SELECT body FROM idempotency_keys");
        return string.Join("\n", bodies.Where(b => b is not null).Select(b => Encoding.UTF8.GetString(b!)));
    }

    private Task<HttpResponseMessage> PostRawAsync(string path, string body) =>
        _admin.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> PostWithContentTypeAsync(string path, string body, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return _admin.PostAsync(path, content);
    }

    private Task<HttpResponseMessage> PostWithIdempotencyKeyAsync(string path, string body, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return _admin.SendAsync(request);
    }

    private async Task<string> CreateWorkspaceAsync()
    {
        var response = await _admin.PostJsonAsync("/api/v1/workspaces", new { name = "Tenant " + Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadAsync<WorkspaceResponse>()).Id;
    }

    private async Task<CreatedKeyResponse> CreateKeyAsync(string[] scopes, string? workspaceId = null)
    {
        var response = await _admin.PostJsonAsync("/api/v1/keys", new { name = "test key", scopes, workspaceId });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.ReadAsync<CreatedKeyResponse>();
    }
}

internal static class WebhookResponseExtensions
{
    /// <summary>Webhooks created by the admin key live in the default workspace.</summary>
    public static string WorkspaceIdOf(this WebhookResponse _) => Tern.Server.Access.AccessStore.DefaultWorkspaceId;
}

public sealed class HardeningTestsOnSqlite(TernFactory tern) : HardeningTests(tern), IClassFixture<TernFactory>;

public sealed class HardeningTestsOnPostgres(PostgresTernFactory tern) : HardeningTests(tern), IClassFixture<PostgresTernFactory>;
