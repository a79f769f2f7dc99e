using System.Text.Json;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Cli;

public sealed class CliLinksTests(CliServer server) : IClassFixture<CliServer>
{
    [Fact]
    public async Task LinksCreateWithJsonPrintsTheCreatedLinkAndExitsZero()
    {
        var slug = UniqueSlug("cli");

        var run = await server.RunAsync("links", "create", "https://example.com/cli", "--slug", slug, "--tag", "a", "--tag", "b", "--json");

        Assert.True(run.ExitCode == 0, run.Error);
        var link = JsonSerializer.Deserialize<LinkResponse>(run.Out, Json)!;
        Assert.Equal(slug, link.Slug);
        Assert.Equal(["a", "b"], link.Tags);
        Assert.Equal($"{server.Tern.BaseUrl}/{slug}", link.ShortUrl);
    }

    [Fact]
    public async Task LinksCreateOfATakenSlugWithAnotherDestinationExitsOneWithTheProblem()
    {
        var slug = UniqueSlug("taken");
        Assert.Equal(0, (await server.RunAsync("links", "create", "https://example.com/one", "--slug", slug)).ExitCode);

        var run = await server.RunAsync("links", "create", "https://example.com/two", "--slug", slug);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("409", run.Error, StringComparison.Ordinal);
        Assert.Contains(slug, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProblemsPrintAsProblemJsonWithTheJsonOption()
    {
        var run = await server.RunAsync("links", "create", "ftp://example.com/x", "--json");

        Assert.Equal(1, run.ExitCode);
        var problem = JsonNode.Parse(run.Error)!;
        Assert.Equal(400, (int)problem["status"]!);
        Assert.NotNull(problem["errors"]!["url"]);
    }

    [Fact]
    public async Task UsageErrorsExitTwo()
    {
        Assert.Equal(2, (await server.RunAsync("links", "frobnicate")).ExitCode);
        Assert.Equal(2, (await server.RunAsync("links", "create")).ExitCode);
        Assert.Equal(2, (await server.RunAsync("links", "list", "--limit", "many")).ExitCode);
    }

    [Fact]
    public async Task ExitsTwoNamingTheSettingsWhenNoServerIsConfigured()
    {
        var run = await server.RunAsync(["links", "list"], new Dictionary<string, string?> { ["TERN_URL"] = null, ["TERN_API_KEY"] = null });

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("TERN_URL", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsesANamedProfileFromTheConfigFile()
    {
        var config = server.PathOf($"config-{Guid.NewGuid():N}.json");
        var noServer = new Dictionary<string, string?> { ["TERN_URL"] = null, ["TERN_API_KEY"] = null };
        var saved = await server.RunAsync(["profiles", "set", "work", "--url", server.Tern.BaseUrl, "--api-key", CliServer.Key], noServer, configPath: config);
        var slug = UniqueSlug("prof");

        var run = await server.RunAsync(["links", "create", "https://example.com/profile", "--slug", slug, "--profile", "work"], noServer, configPath: config);

        Assert.Equal(0, saved.ExitCode);
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains(slug, run.Out, StringComparison.Ordinal);
        Assert.Equal(2, (await server.RunAsync(["links", "list", "--profile", "home"], noServer, configPath: config)).ExitCode);
    }

    [Fact]
    public async Task ListGetUpdateArchiveAndDeleteFindTheLinkBySlug()
    {
        var tag = UniqueSlug("life");
        var slug = UniqueSlug("life");
        await server.RunAsync("links", "create", "https://example.com/life", "--slug", slug, "--tag", tag);

        var list = await server.RunAsync("links", "list", "--tag", tag, "--json");
        var got = await server.RunAsync("links", "get", slug);
        var updated = await server.RunAsync("links", "update", slug, "--url", "https://example.com/changed", "--title", "Changed", "--json");
        var archived = await server.RunAsync("links", "archive", slug, "--json");
        var deleted = await server.RunAsync("links", "delete", slug);
        var gone = await server.RunAsync("links", "get", slug);

        Assert.Single(JsonSerializer.Deserialize<List<LinkResponse>>(list.Out, Json)!);
        Assert.Contains("https://example.com/life", got.Out, StringComparison.Ordinal);
        var changed = JsonSerializer.Deserialize<LinkResponse>(updated.Out, Json)!;
        Assert.Equal(("https://example.com/changed", "Changed"), (changed.Url, changed.Title));
        Assert.True(JsonSerializer.Deserialize<LinkResponse>(archived.Out, Json)!.Archived);
        Assert.Equal(0, deleted.ExitCode);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("404", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinksListPrintsATableOfTheLinks()
    {
        var tag = UniqueSlug("table");
        var slug = UniqueSlug("tbl");
        await server.RunAsync("links", "create", "https://example.com/table", "--slug", slug, "--tag", tag);

        var run = await server.RunAsync("links", "list", "--tag", tag);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("short URL", run.Out, StringComparison.Ordinal);
        Assert.Contains($"{server.Tern.BaseUrl}/{slug}", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatsShowsARecordedClickWithAChart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var slug = UniqueSlug("stats");
        var link = JsonSerializer.Deserialize<LinkResponse>((await server.RunAsync("links", "create", "https://example.com/stats", "--slug", slug, "--json")).Out, Json)!;
        await SubscribeAsync(receiver, "link.clicked", link.Id);

        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        await visitor.GetAsync($"{server.Tern.BaseUrl}/{slug}", TestContext.Current.CancellationToken);
        await receiver.WaitForAsync(1); // the click's event is stored with the click and its rollups

        var chart = await server.RunAsync("stats", slug);
        var json = await server.RunAsync("stats", slug, "--json");

        Assert.True(chart.ExitCode == 0, chart.Error);
        Assert.Contains("1 clicks", chart.Out, StringComparison.Ordinal);
        Assert.Contains("clicks per day", chart.Out, StringComparison.Ordinal);
        Assert.Equal(1, JsonSerializer.Deserialize<StatsResponse>(json.Out, Json)!.Total);
    }

    [Fact]
    public async Task ClicksExportWritesTheRecordedClicksAsCsv()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var slug = UniqueSlug("clk");
        var link = JsonSerializer.Deserialize<LinkResponse>((await server.RunAsync("links", "create", "https://example.com/clicks", "--slug", slug, "--json")).Out, Json)!;
        await SubscribeAsync(receiver, "link.clicked", link.Id);
        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        await visitor.GetAsync($"{server.Tern.BaseUrl}/{slug}", TestContext.Current.CancellationToken);
        await receiver.WaitForAsync(1);
        var file = server.PathOf($"{slug}-clicks.csv");

        var run = await server.RunAsync("clicks", "export", "--link", slug, "-o", file);

        Assert.True(run.ExitCode == 0, run.Error);
        var lines = File.ReadAllLines(file);
        Assert.StartsWith("id,", lines[0], StringComparison.Ordinal);
        Assert.Single(lines[1..]);
        Assert.Contains(link.Id, lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinksExportWritesCsvThatLinksImportReadsBackWithoutCreatingAnything()
    {
        var tag = UniqueSlug("exp");
        for (var i = 0; i < 3; i++)
        {
            await server.RunAsync("links", "create", $"https://example.com/export/{i}", "--slug", $"{tag}-{i}", "--tag", tag);
        }

        var file = server.PathOf($"{tag}.csv");
        var export = await server.RunAsync("links", "export", "--tag", tag, "-o", file);
        var import = await server.RunAsync("links", "import", file, "--json");

        Assert.Equal(0, export.ExitCode);
        Assert.Equal(4, File.ReadAllLines(file).Length);
        var summary = JsonNode.Parse(import.Out)!;
        Assert.Equal((0, 3), ((int)summary["created"]!, (int)summary["existing"]!));
    }

    private async Task SubscribeAsync(WebhookReceiver receiver, string type, string linkId)
    {
        using var api = new HttpClient { BaseAddress = new Uri(server.Tern.BaseUrl) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", CliServer.Key);
        var response = await api.PostJsonAsync("/api/v1/webhooks",
            new { url = receiver.Url, events = new[] { type }, filter = new { linkIds = new[] { linkId } } });
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
    }
}
