using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Events;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Events;

public abstract class EventPollingTests(TernFactory tern)
{
    private const string Slackbot = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    [Fact]
    public async Task EventsAfterAnIdAreTheLaterOnesOldestFirst()
    {
        var api = await NewWorkspaceClientAsync();
        var links = new List<LinkResponse>();
        for (var i = 0; i < 4; i++)
        {
            links.Add(await api.CreateLinkAsync(new { url = $"https://example.com/after/{i}" }));
        }

        var all = await EventsAsync(api, "/api/v1/events?type=link.created");
        Assert.Equal(links.Select(l => l.Id).Reverse(), all.Select(e => (string)e["data"]!["link"]!["id"]!));

        var first = (string)all[^1]["id"]!;
        var page = await api.GetFromJsonAsync<JsonObject>($"/api/v1/events?after={first}&limit=2");
        var items = page!["items"]!.AsArray();
        Assert.Equal([links[1].Id, links[2].Id], items.Select(e => (string)e!["data"]!["link"]!["id"]!));
        Assert.Equal((string)items[1]!["id"]!, (string?)page["nextCursor"]);

        var rest = await EventsAsync(api, $"/api/v1/events?after={page["nextCursor"]}");
        Assert.Equal([links[3].Id], rest.Select(e => (string)e["data"]!["link"]!["id"]!));
        Assert.Empty(await EventsAsync(api, $"/api/v1/events?after={rest[0]["id"]}"));
    }

    [Fact]
    public async Task ClicksAreLinkClickedEventsWithoutAnyWebhookAndBotsCanBeLeftOut()
    {
        var api = await NewWorkspaceClientAsync();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/clicked" });
        var start = (string)(await EventsAsync(api, "/api/v1/events"))[0]["id"]!;
        await VisitAsync(link.Slug, Firefox);
        await VisitAsync(link.Slug, Slackbot);

        var clicked = await EventsAsync(api, $"/api/v1/events?after={start}&type=link.clicked");
        Assert.Equal(2, clicked.Count);
        Assert.Equal([false, true], clicked.Select(e => (bool)e["data"]!["click"]!["isBot"]!));
        Assert.All(clicked, e => Assert.Equal(link.Id, (string)e["data"]!["link"]!["id"]!));

        var people = await EventsAsync(api, $"/api/v1/events?after={start}&includeBots=false");
        Assert.Equal((string)clicked[0]["id"]!, (string)Assert.Single(people)["id"]!);
    }

    [Fact]
    public async Task ClicksAfterAnIdAreTheLaterOnesOldestFirstAndBotsCanBeLeftOut()
    {
        var api = await NewWorkspaceClientAsync();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/click-poll" });
        foreach (var agent in new[] { Firefox, Slackbot, Firefox, Firefox })
        {
            await VisitAsync(link.Slug, agent);
        }

        var newestFirst = (await api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?linkId={link.Id}", Json))!.Items;
        var oldest = newestFirst[^1];
        var after = (await api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?after={oldest.Id}", Json))!.Items;
        Assert.Equal(newestFirst.Take(3).Reverse().Select(c => c.Id), after.Select(c => c.Id));

        var people = (await api.GetFromJsonAsync<ListResponse<ClickResponse>>($"/api/v1/clicks?after={oldest.Id}&includeBots=false", Json))!.Items;
        Assert.Equal(2, people.Count);
        Assert.All(people, c => Assert.False(c.IsBot));
    }

    [Theory]
    [InlineData("/api/v1/events?after=lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P", "after")]
    [InlineData("/api/v1/events?after=evt_01JDQ7X1R5ZK3M8V0W2C4B6N9P&cursor=evt_01JDQ7X1R5ZK3M8V0W2C4B6N9P", "after")]
    [InlineData("/api/v1/events?includeBots=maybe", "includeBots")]
    [InlineData("/api/v1/clicks?after=evt_01JDQ7X1R5ZK3M8V0W2C4B6N9P", "after")]
    [InlineData("/api/v1/clicks?after=clk_01JDQ7X1R5ZK3M8V0W2C4B6N9P&format=csv", "after")]
    [InlineData("/api/v1/clicks?includeBots=1", "includeBots")]
    [InlineData("/api/v1/events/stream?type=link.nothing", "type")]
    public async Task AMalformedPollingParameterIsAProblemNamingIt(string path, string field)
    {
        var problem = await (await tern.Api().GetAsync(path)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task APollerSeesEveryEventOnceUnderConcurrentWriters()
    {
        var api = await NewWorkspaceClientAsync();
        var start = "evt_" + new string('0', 26); // an id older than any: every event of the new workspace is after it
        var writers = Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await api.CreateLinkAsync(new { url = $"https://example.com/race/{w}/{i}" });
            }
        })));

        var seen = new List<string>();
        var cursor = start;
        while (true)
        {
            var done = writers.IsCompleted;
            var page = await EventsAsync(api, $"/api/v1/events?after={cursor}&limit=7");
            seen.AddRange(page.Select(e => (string)e["id"]!));
            cursor = page.Count > 0 ? (string)page[^1]["id"]! : cursor;
            if (done && page.Count == 0)
            {
                break;
            }
        }

        await writers;
        var stored = (await EventsAsync(api, "/api/v1/events?type=link.created&limit=1000")).Select(e => (string)e["id"]!).ToList();
        Assert.Equal(90, stored.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(stored.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task TheStreamSendsEachCommittedEventAndResumesAfterLastEventId()
    {
        var api = await NewWorkspaceClientAsync();
        var first = await api.CreateLinkAsync(new { url = "https://example.com/before-stream" });

        using var stream = await OpenStreamAsync(api, lastEventId: null);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.True(stream.Response.Headers.CacheControl?.NoCache);
        var created = await api.CreateLinkAsync(new { url = "https://example.com/streamed" });
        var sent = await stream.NextAsync();
        Assert.Equal("link.created", sent.Type);
        Assert.Equal(created.Id, (string)JsonNode.Parse(sent.Data)!["data"]!["link"]!["id"]!);
        Assert.Equal(sent.Id, (string)JsonNode.Parse(sent.Data)!["id"]!);

        var stored = await EventsAsync(api, $"/api/v1/events?type=link.created&limit=1");
        Assert.Equal(stored[0].ToJsonString(), JsonNode.Parse(sent.Data)!.ToJsonString());

        stream.Dispose();
        var missed = await api.CreateLinkAsync(new { url = "https://example.com/while-away" });
        using var resumed = await OpenStreamAsync(api, sent.Id);
        var next = await resumed.NextAsync();
        Assert.Equal(missed.Id, (string)JsonNode.Parse(next.Data)!["data"]!["link"]!["id"]!);
        Assert.NotEqual(first.Id, (string)JsonNode.Parse(next.Data)!["data"]!["link"]!["id"]!);
    }

    [Fact]
    public async Task TheStreamSendsClicksAndOnlyTheKeysWorkspace()
    {
        var api = await NewWorkspaceClientAsync();
        var other = await NewWorkspaceClientAsync();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/stream-click" });
        using var stream = await OpenStreamAsync(api, lastEventId: null);
        await other.CreateLinkAsync(new { url = "https://example.com/elsewhere" });
        await VisitAsync(link.Slug, Firefox);

        var sent = await stream.NextAsync();
        Assert.Equal("link.clicked", sent.Type);
        Assert.Equal(link.Id, (string)JsonNode.Parse(sent.Data)!["data"]!["link"]!["id"]!);
    }

    [Fact]
    public async Task TheStreamNeedsTheEventsScope()
    {
        var workspace = await (await tern.Api().PostJsonAsync("/api/v1/workspaces", new { name = "no-events" })).ReadAsync<WorkspaceResponse>();
        var key = await (await tern.Api().PostJsonAsync("/api/v1/keys", new { name = "k", scopes = new[] { "links:read" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        await (await tern.Api(key.Key).GetAsync("/api/v1/events/stream")).AssertProblemAsync(HttpStatusCode.Forbidden);
    }

    protected async Task<HttpClient> NewWorkspaceClientAsync() => (await NewWorkspaceAsync()).Api;

    protected async Task<(HttpClient Api, string WorkspaceId)> NewWorkspaceAsync()
    {
        var workspace = await (await tern.Api().PostJsonAsync("/api/v1/workspaces", new { name = "polling" })).ReadAsync<WorkspaceResponse>();
        var key = await (await tern.Api().PostJsonAsync("/api/v1/keys",
                new { name = "k", scopes = new[] { "links:read", "links:write", "analytics:read", "webhooks:read" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        return (tern.Api(key.Key), workspace.Id);
    }

    protected static async Task<List<JsonObject>> EventsAsync(HttpClient api, string path)
    {
        var page = await api.GetFromJsonAsync<JsonObject>(path);
        return [.. page!["items"]!.AsArray().Select(e => e!.AsObject())];
    }

    private async Task VisitAsync(string slug, string userAgent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/" + slug);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().SendAsync(request)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
    }

    private static async Task<SseReader> OpenStreamAsync(HttpClient api, string? lastEventId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>Reads server-sent events with the framework's parser, skipping comments (heartbeats).</summary>
    private sealed class SseReader(HttpResponseMessage response, Stream body) : IDisposable
    {
        private readonly IAsyncEnumerator<System.Net.ServerSentEvents.SseItem<string>> _items =
            System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();

        public HttpResponseMessage Response => response;

        public async Task<(string Id, string Type, string Data)> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            Assert.True(await _items.MoveNextAsync().AsTask().WaitAsync(timeout.Token), "the stream ended");
            return (_items.Current.EventId!, _items.Current.EventType, _items.Current.Data);
        }

        public void Dispose()
        {
            body.Dispose();
            response.Dispose();
        }
    }
}

public sealed class EventPollingTestsOnSqlite(TernFactory tern) : EventPollingTests(tern), IClassFixture<TernFactory>;

public sealed class EventPollingTestsOnPostgres(PostgresTernFactory tern) : EventPollingTests(tern), IClassFixture<PostgresTernFactory>
{
    private readonly PostgresTernFactory _tern = tern;

    /// <summary>
    /// Ids follow creation time, not commit order: an event written by a transaction that is still open must not be
    /// passed by a reader that reads a later-committed one, or the reader's next after= would skip it for ever.
    /// </summary>
    [Fact]
    public async Task AReaderWaitsForAnOlderTransactionStillWritingBeforeReadingPastIt()
    {
        var (api, workspaceId) = await NewWorkspaceAsync();
        var anchor = await api.CreateLinkAsync(new { url = "https://example.com/anchor" });
        var start = (string)(await EventsAsync(api, "/api/v1/events"))[0]["id"]!;

        var written = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var database = _tern.Get<Database>();
        var outbox = _tern.Get<EventOutbox>();
        var slow = database.WriteAsync(async (connection, transaction) =>
        {
            await outbox.PublishAsync(connection, transaction,
                [new EventToPublish(EventTypes.LinkUpdated, workspaceId, anchor.Id, [], false, new EventData { Link = anchor })], CancellationToken.None);
            written.SetResult();
            await release.Task;
            return true;
        }, CancellationToken.None);
        await written.Task;

        var later = await api.CreateLinkAsync(new { url = "https://example.com/committed-first" });
        Assert.Empty(await EventsAsync(api, $"/api/v1/events?after={start}"));

        release.SetResult();
        await slow;
        var events = await EventsAsync(api, $"/api/v1/events?after={start}");
        Assert.Equal(["link.updated", "link.created"], events.Select(e => (string)e["type"]!));
        Assert.Equal(later.Id, (string)events[1]["data"]!["link"]!["id"]!);
    }

    [Fact]
    public async Task ATransactionOfAnotherDatabaseOnTheClusterHoldsNothingBack()
    {
        var (api, _) = await NewWorkspaceAsync();
        var start = "evt_" + new string('0', 26);
        var elsewhere = new Npgsql.NpgsqlConnectionStringBuilder(((PostgresBackend)_tern.Storage).ConnectionString) { Database = "postgres" };
        await using var other = new Npgsql.NpgsqlConnection(elsewhere.ConnectionString);
        await other.OpenAsync();
        await using var open = await other.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("SELECT pg_current_xact_id()", other, open))
        {
            await command.ExecuteScalarAsync(); // the transaction now has an id and stays open below
        }

        var created = await api.CreateLinkAsync(new { url = "https://example.com/not-held" });
        var events = await EventsAsync(api, $"/api/v1/events?after={start}");
        Assert.Equal(created.Id, (string)Assert.Single(events)["data"]!["link"]!["id"]!);
    }
}
