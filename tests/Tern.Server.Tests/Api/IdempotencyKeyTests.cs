using System.Net;
using System.Text;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Api;

public abstract class IdempotencyKeyTests(TernFactory tern)
{
    [Fact]
    public async Task ReplaysTheFirstResponseForTheSameIdempotencyKey()
    {
        var key = Guid.NewGuid().ToString();
        var first = await PostAsync(key, "{\"url\": \"https://example.com/once\"}");
        var replay = await PostAsync(key, "{\"url\": \"https://example.com/once\"}");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Headers.Location, replay.Headers.Location);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.Equal("application/json", replay.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task TheSameKeyWithAnotherBodyAnswers422()
    {
        var key = Guid.NewGuid().ToString();
        await PostAsync(key, "{\"url\": \"https://example.com/a\"}");
        var other = await PostAsync(key, "{\"url\": \"https://example.com/b\"}");
        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "/problems/idempotency-key-reused");
    }

    [Fact]
    public async Task TheSameKeyFromAnotherWorkspaceIsAnotherRequest()
    {
        var key = Guid.NewGuid().ToString();
        var body = "{\"url\": \"https://example.com/shared-key\"}";
        var first = await (await PostAsync(key, body)).ReadAsync<LinkResponse>();

        var workspace = await (await tern.Api().PostJsonAsync("/api/v1/workspaces", new { name = "w" })).ReadAsync<WorkspaceResponse>();
        var otherKey = await (await tern.Api().PostJsonAsync("/api/v1/keys", new { name = "k", scopes = new[] { "links:write" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        var second = await PostAsync(key, body, otherKey.Key!);

        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.NotEqual(first.Id, (await second.ReadAsync<LinkResponse>()).Id);
    }

    [Fact]
    public async Task ConcurrentRequestsWithTheSameKeyCreateOneLink()
    {
        var key = Guid.NewGuid().ToString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 30)
            .Select(_ => PostAsync(key, "{\"url\": \"https://example.com/concurrent\"}")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.StatusCode));
        Assert.Single(responses, r => !r.Headers.Contains("Idempotent-Replayed"));
        var ids = await Task.WhenAll(responses.Select(async r => (await r.ReadAsync<LinkResponse>()).Id));
        Assert.Single(ids.Distinct());
    }

    [Fact]
    public async Task ValidationErrorsAreReplayedToo()
    {
        var key = Guid.NewGuid().ToString();
        var first = await PostAsync(key, "{\"url\": \"ftp://example.com\"}");
        var replay = await PostAsync(key, "{\"url\": \"ftp://example.com\"}");
        await first.AssertProblemAsync(HttpStatusCode.BadRequest);
        await replay.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
    }

    private Task<HttpResponseMessage> PostAsync(string idempotencyKey, string body, string key = TernFactory.AdminKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return tern.Api(key).SendAsync(request);
    }
}

public sealed class IdempotencyKeyTestsOnSqlite(TernFactory tern) : IdempotencyKeyTests(tern), IClassFixture<TernFactory>;
public sealed class IdempotencyKeyTestsOnPostgres(PostgresTernFactory tern) : IdempotencyKeyTests(tern), IClassFixture<PostgresTernFactory>;
