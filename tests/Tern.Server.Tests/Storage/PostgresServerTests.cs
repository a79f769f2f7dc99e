using System.Net;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>The whole server on PostgreSQL: configuration picks the provider, start-up migrates, requests round-trip.</summary>
public sealed class PostgresServerTests(PostgresTernFactory tern) : IClassFixture<PostgresTernFactory>
{
    [Fact]
    public async Task ServerStartsOnPostgresAndIsReady()
    {
        Assert.IsType<PostgresDatabase>(tern.Get<Database>());

        var ready = await tern.Visitor().GetAsync("/readyz", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task CreatedLinkRedirectsAndIsListedOnPostgres()
    {
        var slug = ApiExtensions.UniqueSlug("pg");
        var created = await tern.Api().CreateLinkAsync(new { url = "https://example.com/pg", slug, tags = new[] { "pg" }, title = "On Postgres" });

        var redirect = await tern.Visitor().GetAsync($"/{slug}", TestContext.Current.CancellationToken);
        var listed = await tern.Api().GetFromJsonAsync<ListResponse<LinkResponse>>(
            "/api/v1/links?tag=pg&q=on%20postgres", ApiExtensions.Json, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal("https://example.com/pg", redirect.Headers.Location?.ToString());
        Assert.Equal([created.Id], listed!.Items.Select(l => l.Id));
    }

    [Fact]
    public async Task IdempotencyKeyReplaysOnPostgres()
    {
        var api = tern.Api();
        api.DefaultRequestHeaders.Add("Idempotency-Key", Guid.NewGuid().ToString());

        var first = await api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/pg-once" });
        var replay = await api.PostJsonAsync("/api/v1/links", new { url = "https://example.com/pg-once" });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(TestContext.Current.CancellationToken),
            await replay.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
