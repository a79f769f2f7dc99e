using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Access;

public abstract class AccessTests(TernFactory tern)
{
    private readonly HttpClient _admin = tern.Api();

    [Theory]
    [InlineData(null, "Send Authorization")]
    [InlineData("tern_unknownKey000000000000000000000", "unknown or has been revoked")]
    [InlineData("not-a-tern-key", "malformed")]
    public async Task AMissingOrUnknownKeyAnswers401Problem(string? key, string detail)
    {
        var response = await tern.Api(key).GetAsync("/api/v1/links");
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "/problems/unauthorized");
        Assert.Contains(detail, (string?)problem["detail"], StringComparison.Ordinal);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task ANonBearerAuthorizationHeaderAnswers401()
    {
        var client = tern.Api(null);
        client.DefaultRequestHeaders.Add("Authorization", "Basic dXNlcjpwYXNz");
        await (await client.GetAsync("/api/v1/links")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task AKeyLackingTheScopeAnswers403NamingIt()
    {
        var readOnly = await CreateKeyAsync(["links:read"]);
        var client = tern.Api(readOnly.Key);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/links")).StatusCode);
        var problem = await (await client.PostJsonAsync("/api/v1/links", new { url = "https://example.com/" }))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "/problems/forbidden");
        Assert.Contains("links:write", (string?)problem["detail"], StringComparison.Ordinal);
        await (await client.PostJsonAsync("/api/v1/workspaces", new { name = "x" })).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ANewKeyIsShownOnceAndListedOnlyByItsPrefix()
    {
        var created = await CreateKeyAsync(["links:read", "analytics:read"]);
        Assert.StartsWith("tern_", created.Key, StringComparison.Ordinal);
        Assert.StartsWith(created.Prefix, created.Key, StringComparison.Ordinal);
        Assert.Equal(["links:read", "analytics:read"], created.Scopes);

        var listing = await _admin.GetStringAsync($"/api/v1/keys?workspaceId={created.WorkspaceId}");
        Assert.Contains(created.Id, listing, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Key!, listing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARevokedKeyIsRefusedAtOnce()
    {
        var created = await CreateKeyAsync(["links:read"]);
        var client = tern.Api(created.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/links")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/v1/keys/{created.Id}")).StatusCode);

        await (await client.GetAsync("/api/v1/links")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        await (await _admin.DeleteAsync($"/api/v1/keys/{created.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AKeyIsReadFromStorageOnceAndForgottenWhenRevoked()
    {
        var created = await CreateKeyAsync(["links:read"]);
        var cache = tern.Get<ApiKeyCache>();
        var hash = ApiKeySecret.Hash(created.Key!);
        Assert.False(cache.TryGet(hash, out _));

        Assert.Equal(HttpStatusCode.OK, (await tern.Api(created.Key).GetAsync("/api/v1/links")).StatusCode);

        Assert.True(cache.TryGet(hash, out var cached));
        Assert.Equal(created.Id, cached.Id);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/v1/keys/{created.Id}")).StatusCode);
        Assert.False(cache.TryGet(hash, out _));
    }

    [Fact]
    public async Task AKeySeesOnlyItsOwnWorkspacesLinks()
    {
        var mine = await _admin.CreateLinkAsync(new { url = "https://example.com/mine", slug = UniqueSlug("mine") });
        var other = tern.Api((await CreateKeyAsync(["links:read", "links:write"], await CreateWorkspaceAsync())).Key);

        await (await other.GetAsync($"/api/v1/links/{mine.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await other.PatchAsJsonAsync($"/api/v1/links/{mine.Id}", new { title = "x" }, Json)).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await other.DeleteAsync($"/api/v1/links/{mine.Id}")).AssertProblemAsync(HttpStatusCode.NotFound);
        var list = await other.GetFromJsonAsync<ListResponse<LinkResponse>>("/api/v1/links", Json);
        Assert.DoesNotContain(list!.Items, l => l.Id == mine.Id);
    }

    [Fact]
    public async Task ASlugOfAnotherWorkspaceAnswers409AndRevealsNothing()
    {
        var secretUrl = "https://secret.example/internal-" + Guid.NewGuid();
        var mine = await _admin.CreateLinkAsync(new { url = secretUrl, slug = UniqueSlug("taken"), title = "Secret title" });
        var other = tern.Api((await CreateKeyAsync(["links:write"], await CreateWorkspaceAsync())).Key);

        var response = await other.PostJsonAsync("/api/v1/links", new { url = secretUrl, mine.Slug });
        var body = (await response.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/slug-taken")).ToJsonString();
        Assert.DoesNotContain(mine.Id, body, StringComparison.Ordinal);
        Assert.DoesNotContain("secret.example", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Secret title", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyCreationValidatesScopesNameAndWorkspace()
    {
        var problem = await (await _admin.PostJsonAsync("/api/v1/keys", new { name = "", scopes = new[] { "links:delete" } }))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?["name"]);
        Assert.Contains("links:delete", problem["errors"]?["scopes"]?[0]?.ToString(), StringComparison.Ordinal);

        var missingWorkspace = await (await _admin.PostJsonAsync("/api/v1/keys", new { name = "k", scopes = new[] { "admin" }, workspaceId = "ws_nope" }))
            .AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(missingWorkspace["errors"]?["workspaceId"]);
    }

    private async Task<string> CreateWorkspaceAsync()
    {
        var response = await _admin.PostJsonAsync("/api/v1/workspaces", new { name = "Agency " + Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadAsync<WorkspaceResponse>()).Id;
    }

    private async Task<CreatedKeyResponse> CreateKeyAsync(string[] scopes, string? workspaceId = null)
    {
        var response = await _admin.PostJsonAsync("/api/v1/keys", new { name = "test key", scopes, workspaceId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadAsync<CreatedKeyResponse>();
    }
}

public sealed class AccessTestsOnSqlite(TernFactory tern) : AccessTests(tern), IClassFixture<TernFactory>;

public sealed class AccessTestsOnPostgres(PostgresTernFactory tern) : AccessTests(tern), IClassFixture<PostgresTernFactory>;

/// <summary>A server with a tiny per-key budget.</summary>
public sealed class RateLimitedTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:RateLimit:Burst", "3"),
        new("Tern:RateLimit:PerSecond", "1"),
    ];
}

public sealed class RateLimitTests(RateLimitedTern tern) : IClassFixture<RateLimitedTern>
{
    [Fact]
    public async Task AKeyOverItsBudgetGets429WithRetryAfterAndRateLimitHeaders()
    {
        var client = tern.Api();
        var responses = new List<HttpResponseMessage>();
        for (var i = 0; i < 6; i++)
        {
            responses.Add(await client.GetAsync("/api/v1/links"));
        }

        var ok = responses.First();
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("3", ok.Headers.GetValues("RateLimit-Limit").Single());
        Assert.True(int.Parse(ok.Headers.GetValues("RateLimit-Remaining").Single(), System.Globalization.CultureInfo.InvariantCulture) < 3);

        var limited = responses.Last();
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "/problems/rate-limited");
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));

        // Redirects are never rate limited per key, even when they carry the exhausted key.
        var visitor = tern.Visitor();
        visitor.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync("/unknown-slug")).StatusCode);
    }
}
