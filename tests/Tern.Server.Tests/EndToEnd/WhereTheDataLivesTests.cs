using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.EndToEnd;

/// <summary>Where a real server process keeps its data and finds its settings, whichever folder it is started from.</summary>
public sealed partial class WhereTheDataLivesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("tern-where-").FullName;

    [Fact]
    public async Task DotnetRunKeepsTheDatabaseInTheDataFolderOfTheFolderItWasCalledFrom()
    {
        var here = Directory.CreateDirectory(Path.Combine(_root, "repo-root")).FullName;
        await using var tern = await TernProcess.DotnetRunAsync(here);

        Assert.True(File.Exists(Path.Combine(here, "data", "tern.db")), tern.Output);
    }

    [Fact]
    public async Task APublishedBinaryStartedFromAnotherFolderReadsTheSettingsBesideItAndKeepsDataInTheWorkingDirectory()
    {
        var app = CopyOfTheServer();
        var settings = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(app, "appsettings.json")))!;
        settings["Tern"]!["BaseUrl"] = "https://go.beside-the-binary.example";
        await File.WriteAllTextAsync(Path.Combine(app, "appsettings.json"), settings.ToJsonString());
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;

        await using var tern = await TernProcess.StartInAsync(elsewhere, app);
        using var api = Client(tern);
        var link = await (await api.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/where" }, ApiExtensions.Json)).ReadAsync<LinkResponse>();

        Assert.StartsWith("https://go.beside-the-binary.example/", link.ShortUrl, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(elsewhere, "data", "tern.db")));
        Assert.False(Directory.Exists(Path.Combine(app, "data")));
    }

    [Fact]
    public async Task WithNoSettingsFileAtAllRequestsAreNotLogged()
    {
        var app = CopyOfTheServer();
        File.Delete(Path.Combine(app, "appsettings.json"));
        var elsewhere = Directory.CreateDirectory(Path.Combine(_root, "bare")).FullName;

        await using var tern = await TernProcess.StartInAsync(elsewhere, app);
        using var api = Client(tern);
        var created = await api.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/quiet" }, ApiExtensions.Json);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var link = await created.ReadAsync<LinkResponse>();
        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Found, (await visitor.GetAsync(link.ShortUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await visitor.GetAsync($"{tern.BaseUrl}/no-such-slug")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await visitor.GetAsync($"{tern.BaseUrl}/healthz")).StatusCode);

        // The process is stopped first, so every line it wrote is in the output.
        Assert.Equal(0, await tern.TerminateAsync());
        Assert.Contains("Now listening on", tern.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("info: Microsoft.AspNetCore", tern.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("/healthz", tern.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by an exiting process; the temporary folder is left behind.
        }
    }

    /// <summary>The build output copied elsewhere, as a publish would leave it.</summary>
    private string CopyOfTheServer()
    {
        var target = Directory.CreateDirectory(Path.Combine(_root, "app")).FullName;
        foreach (var file in Directory.EnumerateFiles(TernProcess.ServerDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(TernProcess.ServerDirectory, file);
            if (relative.StartsWith("data", StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }

        return target;
    }

    private static HttpClient Client(TernProcess tern)
    {
        var api = new HttpClient { BaseAddress = new Uri(tern.BaseUrl) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", FirstKey().Match(tern.Output).Value);
        return api;
    }

    [GeneratedRegex("tern_[A-Za-z0-9]{32}")]
    private static partial Regex FirstKey();
}
