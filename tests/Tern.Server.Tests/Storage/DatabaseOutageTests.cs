using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Hosting;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Storage;

/// <summary>Tern in-process on a PostgreSQL cluster of its own, which the tests freeze, stop and start again.</summary>
public sealed class OutageTern : TernFactory
{
    private readonly DedicatedPostgresBackend _backend;

    public OutageTern() : this(new DedicatedPostgresBackend())
    {
    }

    private OutageTern(DedicatedPostgresBackend backend) : base(backend) => _backend = backend;

    public PostgresCluster Postgres => _backend.Cluster;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Clicks:BatchWindowMilliseconds", "0")];

    public override async ValueTask InitializeAsync()
    {
        await _backend.InitializeAsync();
        if (_backend.IsAvailable)
        {
            _ = Services;
        }
    }

    protected override IHostBuilder? CreateHostBuilder()
    {
        if (!_backend.IsAvailable)
        {
            PostgresBackend.SkipOrFailForMissingPostgres();
        }

        return base.CreateHostBuilder();
    }
}

/// <summary>
/// Whichever way PostgreSQL fails (frozen with SIGSTOP, or stopped), cached redirects keep answering, API calls answer
/// 503 problem+json with Retry-After within 5 s, /readyz within 2 s, and the node recovers without a restart.
/// </summary>
public sealed class DatabaseOutageTests(OutageTern tern) : IClassFixture<OutageTern>
{
    private static readonly TimeSpan ApiDeadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AFrozenDatabaseCostsAnApiCallSecondsNotMinutesAndReadyzUnderTwoAndThawingNeedsNoRestart()
    {
        var link = await CachedLinkAsync("frozen");

        tern.Postgres.Freeze();
        try
        {
            // A statement on a pooled connection that the freeze caught fails at its deadline (3 s) plus the driver's
            // cancel request to the frozen server, which waits out one connect attempt (1 s).
            await AssertOutageAnswersAsync(link, ApiDeadline);
        }
        finally
        {
            tern.Postgres.Thaw();
        }

        await AssertRecoveredAsync(link, clicks: 6);
    }

    [Fact]
    public async Task AStoppedDatabaseAnswers503AtOnceAndARestartedOneIsUsedAgainWithoutRestartingTern()
    {
        var link = await CachedLinkAsync("stopped");

        tern.Postgres.StopServer();
        try
        {
            await AssertOutageAnswersAsync(link, ApiDeadline);
        }
        finally
        {
            tern.Postgres.StartServer();
        }

        await AssertRecoveredAsync(link, clicks: 6);
    }

    private async Task<LinkResponse> CachedLinkAsync(string name)
    {
        var link = await tern.Api().CreateLinkAsync(new { url = $"https://example.com/{name}", slug = UniqueSlug(name) });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        return link;
    }

    private async Task AssertOutageAnswersAsync(LinkResponse link, TimeSpan apiDeadline)
    {
        for (var i = 0; i < 5; i++)
        {
            var redirect = await tern.Visitor().GetAsync("/" + link.Slug);
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            Assert.Equal(link.Url, redirect.Headers.Location?.OriginalString);
        }

        var read = await TimedAsync(() => tern.Api().GetAsync($"/api/v1/links/{link.Id}"), apiDeadline);
        await read.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
        Assert.NotNull(read.Headers.RetryAfter);

        var write = await TimedAsync(() => tern.Api().PostJsonAsync("/api/v1/links", new { url = "https://example.com/during" }), apiDeadline);
        await write.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
        Assert.NotNull(write.Headers.RetryAfter);

        var ready = await TimedAsync(() => tern.Visitor().GetAsync("/readyz"), ReadyDeadline);
        await ready.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "/problems/storage-unavailable");
        Assert.Equal(HttpStatusCode.OK, (await tern.Visitor().GetAsync("/healthz")).StatusCode);
    }

    private async Task AssertRecoveredAsync(LinkResponse link, int clicks)
    {
        await EventuallyAsync(async () => (await tern.Visitor().GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, "/readyz never recovered");
        // The clicks answered during the outage were held and are stored now.
        await EventuallyAsync(async () =>
        {
            var answer = await tern.Api().GetAsync($"/api/v1/links/{link.Id}");
            return answer.IsSuccessStatusCode && (await answer.ReadAsync<LinkResponse>()).Clicks == clicks;
        }, "the clicks answered during the outage were not stored");
        var created = await tern.Api().PostJsonAsync("/api/v1/links", new { url = "https://example.com/after" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var moved = await tern.Api().PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url = link.Url + "/moved" }, Json);
        Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
        Assert.Equal(link.Url + "/moved", (await tern.Visitor().GetAsync("/" + link.Slug)).Headers.Location?.OriginalString);
    }

    private static async Task<HttpResponseMessage> TimedAsync(Func<Task<HttpResponseMessage>> call, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        var response = await call();
        Assert.True(clock.Elapsed < deadline, $"answered {(int)response.StatusCode} after {clock.Elapsed.TotalSeconds:0.0} s (deadline {deadline.TotalSeconds} s)");
        return response;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> done, string message)
    {
        var clock = Stopwatch.StartNew();
        while (!await done())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), message);
            await Task.Delay(100);
        }
    }
}
