using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.EndToEnd;

/// <summary>A new user's first minutes, on the real server process with its embedded SQLite file.</summary>
public sealed partial class FirstRunTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("tern-run-").FullName;

    [Fact]
    public async Task AFreshServerPrintsAFirstKeyThatCreatesALinkWhoseShortUrlRedirects()
    {
        await using var tern = await TernProcess.StartAsync(_dataDir);
        var key = FirstKey().Match(tern.Output).Value;
        Assert.NotEmpty(key);
        Assert.True(File.Exists(Path.Combine(_dataDir, "tern.db")));

        using var api = new HttpClient { BaseAddress = new Uri(tern.BaseUrl) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var created = await api.PostAsJsonAsync("/api/v1/links", new { url = "https://brand.example/loyalty?member_id=usr_84729" }, ApiExtensions.Json);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var link = await created.ReadAsync<LinkResponse>();
        Assert.Equal($"{tern.BaseUrl}/{link.Slug}", link.ShortUrl);

        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var redirect = await visitor.GetAsync(link.ShortUrl);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal("https://brand.example/loyalty?member_id=usr_84729", redirect.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task SigtermUnderLoadKeepsEveryAnsweredClickAndARestartPrintsNoNewKey()
    {
        string key;
        LinkResponse link;
        long answered = 0;
        long attempted = 0;
        await using (var first = await TernProcess.StartAsync(_dataDir))
        {
            key = FirstKey().Match(first.Output).Value;
            using var api = Client(first.BaseUrl, key);
            link = await (await api.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/drain" }, ApiExtensions.Json)).ReadAsync<LinkResponse>();

            using var visitor = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
            using var stop = new CancellationTokenSource();
            var someAnswered = new TaskCompletionSource();
            var load = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Interlocked.Increment(ref attempted);
                    try
                    {
                        var response = await visitor.GetAsync(link.ShortUrl);
                        if (response.StatusCode == HttpStatusCode.Found && Interlocked.Increment(ref answered) >= 300)
                        {
                            someAnswered.TrySetResult();
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return; // the server has stopped listening
                    }
                }
            })).ToList();

            await someAnswered.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(0, await first.TerminateAsync());
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }

        await using var second = await TernProcess.StartAsync(_dataDir);
        Assert.DoesNotMatch(FirstKey(), second.Output);
        using var again = Client(second.BaseUrl, key);
        var stored = await again.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json);
        var stats = await again.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json);

        // Every answered redirect is counted; a request the server answered as the connection closed may count too.
        Assert.InRange(stored!.Clicks, answered, Interlocked.Read(ref attempted));
        Assert.Equal(stored.Clicks, stats!.Total);
    }

    [Fact]
    public async Task AKillMinus9LosesNoClickThatWasWrittenWithinTheBatchWindow()
    {
        const int visits = 50;
        // Stats read storage only: once they show every click, the batch has been committed.
        var (key, link, _) = await VisitThenKillAsync(visits, "https://example.com/crash",
            async (api, id) => (await api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{id}/stats", ApiExtensions.Json))!.Total >= visits,
            "--Tern:Clicks:BatchWindowMilliseconds=100");

        await using var second = await TernProcess.StartAsync(_dataDir);
        using var again = Client(second.BaseUrl, key);
        Assert.Equal(visits, (await again.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json))!.Clicks);
    }

    [Fact]
    public async Task AKillMinus9BeforeTheRollupsAreWrittenLosesNoClickFromTheStats()
    {
        const int visits = 40;
        // Rollup sums wait a minute in memory, so the kill comes long before they are written; the link's count is
        // written with each batch: once it shows every click, they are all stored. (The link's own stats are read from
        // its clicks at once: the workspace's rollups are what the kill catches unwritten.)
        var (key, link, statsBeforeKill) = await VisitThenKillAsync(visits, "https://example.com/gathered",
            async (api, id) => (await api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{id}", ApiExtensions.Json))!.Clicks >= visits,
            "--Tern:Clicks:RollupIntervalMilliseconds=60000");
        Assert.Equal(0, statsBeforeKill.Total);

        await using var second = await TernProcess.StartAsync(_dataDir);
        using var again = Client(second.BaseUrl, key);
        var restartedAt = System.Diagnostics.Stopwatch.StartNew();
        StatsResponse stats;
        while ((stats = (await again.GetFromJsonAsync<StatsResponse>("/api/v1/stats", ApiExtensions.Json))!).Total < visits)
        {
            Assert.True(restartedAt.Elapsed < TimeSpan.FromSeconds(10), $"the stats show {stats.Total} of {visits} clicks after the restart");
            await Task.Delay(20);
        }

        Assert.Equal(visits, stats.Total);
        Assert.Equal(visits, stats.Devices.Sum(d => d.Clicks));
        Assert.Equal([(link.Id, (long)visits)], stats.Links!.Select(l => (l.Id, l.Clicks)));
        Assert.Equal(visits, (await again.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json))!.Total);
        Assert.Equal(visits, (await again.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json))!.Clicks);
        Assert.Contains("Added up 40 clicks", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AKillMinus9BeforeTheRollupsAreWrittenCountsALinksLaterClicksIntoItsOwnCellsOnce()
    {
        // First run: the link's first click makes it keep cells of its own (counted through the fold mark of then).
        string key;
        LinkResponse link;
        await using (var first = await TernProcess.StartAsync(_dataDir, null, "--Tern:Clicks:LinkRollupsAbove=0"))
        {
            key = FirstKey().Match(first.Output).Value;
            using var api = Client(first.BaseUrl, key);
            link = await (await api.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/own" }, ApiExtensions.Json)).ReadAsync<LinkResponse>();
            using var visitor = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
            Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync(link.ShortUrl)).StatusCode);
            Assert.Equal(0, await first.TerminateAsync());
        }

        Assert.Equal(1, await ScalarAsync($"SELECT COUNT(*) FROM link_rollups WHERE link_id = '{link.Id}'"));

        // Second run: 30 clicks folded, their sums held in memory for a minute, and the kill before them.
        const int visits = 30;
        await using (var second = await TernProcess.StartAsync(_dataDir, null, "--Tern:Clicks:RollupIntervalMilliseconds=60000"))
        {
            using var api = Client(second.BaseUrl, key);
            using var visitor = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
            for (var i = 0; i < visits; i++)
            {
                Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync($"{second.BaseUrl}/{link.Slug}")).StatusCode);
            }

            var answeredAt = System.Diagnostics.Stopwatch.StartNew();
            while ((await api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json))!.Clicks < visits + 1)
            {
                Assert.True(answeredAt.Elapsed < TimeSpan.FromSeconds(10), "the clicks were not folded");
                await Task.Delay(20);
            }

            Assert.Equal(1, (await api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json))!.Total);
            second.Kill();
        }

        // Third run: the clicks after the mark go into the link's own cells once, those before it are not counted again.
        await using var third = await TernProcess.StartAsync(_dataDir);
        using var again = Client(third.BaseUrl, key);
        var restartedAt = System.Diagnostics.Stopwatch.StartNew();
        StatsResponse stats;
        while ((stats = (await again.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json))!).Total < visits + 1)
        {
            Assert.True(restartedAt.Elapsed < TimeSpan.FromSeconds(10), $"the stats show {stats.Total} of {visits + 1} clicks after the restart");
            await Task.Delay(20);
        }

        await Task.Delay(300);
        stats = (await again.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", ApiExtensions.Json))!;
        Assert.Equal(visits + 1, stats.Total);
        Assert.Equal(visits + 1, stats.Devices.Sum(d => d.Clicks));
        Assert.Equal(visits + 1, stats.Destinations!.Sum(d => d.Clicks));
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dataDir, "tern.db")};Pooling=False");
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Starts a server with the arguments, makes a link, visits it <paramref name="visits"/> times, waits until
    /// <paramref name="stored"/> says the clicks are in storage, reads the workspace's stats and kills the process (-9).
    /// </summary>
    private async Task<(string Key, LinkResponse Link, StatsResponse StatsBeforeKill)> VisitThenKillAsync(
        int visits, string url, Func<HttpClient, string, Task<bool>> stored, params string[] arguments)
    {
        await using var server = await TernProcess.StartAsync(_dataDir, null, arguments);
        var key = FirstKey().Match(server.Output).Value;
        using var api = Client(server.BaseUrl, key);
        var link = await (await api.PostAsJsonAsync("/api/v1/links", new { url }, ApiExtensions.Json)).ReadAsync<LinkResponse>();
        using var visitor = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        for (var i = 0; i < visits; i++)
        {
            Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync(link.ShortUrl)).StatusCode);
        }

        var answeredAt = System.Diagnostics.Stopwatch.StartNew();
        while (!await stored(api, link.Id))
        {
            Assert.True(answeredAt.Elapsed < TimeSpan.FromSeconds(10), "the clicks were not written within the batch window");
            await Task.Delay(20);
        }

        var stats = (await api.GetFromJsonAsync<StatsResponse>("/api/v1/stats", ApiExtensions.Json))!;
        server.Kill();
        return (key, link, stats);
    }

    [Fact]
    public async Task TheConfiguredAdminKeyWorksFromAnEnvironmentVariable()
    {
        const string adminKey = "tern_ConfiguredByEnvironment000000000";
        await using var tern = await TernProcess.StartAsync(_dataDir, new Dictionary<string, string> { ["Tern__AdminKey"] = adminKey });

        Assert.DoesNotMatch(FirstKey(), tern.Output);
        using var api = Client(tern.BaseUrl, adminKey);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/links")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/readyz")).StatusCode);
    }

    [Theory]
    [InlineData("GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /api/v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u0001\r\n\r\n")]
    [InlineData("POST /api/v1/links HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")]
    public async Task RawMalformedRequestsGetA4xxNotA500(string raw)
    {
        await using var tern = await TernProcess.StartAsync(_dataDir);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, tern.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.Latin1.GetBytes(raw));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer);
        var statusLine = System.Text.Encoding.Latin1.GetString(buffer, 0, read).Split("\r\n")[0];
        Assert.Matches("^HTTP/1.1 4\\d\\d ", statusLine);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static HttpClient Client(string baseUrl, string key)
    {
        var client = new HttpClient { BaseAddress = new Uri(baseUrl) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [GeneratedRegex("tern_[A-Za-z0-9]{32}")]
    private static partial Regex FirstKey();
}
