using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Cli;

public sealed class CliImportTests(CliServer server) : IClassFixture<CliServer>
{
    [Fact]
    public async Task LinksImportCreatesEveryRowInBatchesOfAThousandAndARerunCreatesNothingNew()
    {
        var tag = UniqueSlug("imp");
        var file = server.WriteLinksCsv($"{tag}.csv", tag, 2500);

        var first = await server.RunAsync("links", "import", file, "--json");
        var again = await server.RunAsync("links", "import", file, "--json");

        Assert.True(first.ExitCode == 0, first.Error);
        Assert.Equal(["1,000/2,500", "2,000/2,500", "2,500/2,500"], first.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]));
        Assert.Equal((2500, 0), Counts(first.Out));
        Assert.Equal((0, 2500), Counts(again.Out));
        var results = File.ReadAllLines(Path.ChangeExtension(file, null) + ".results.csv");
        Assert.Equal("line,status,id,slug,shortUrl,error,sourceCreatedAt", results[0]);
        Assert.Equal(2500, results.Length - 1);
        Assert.All(results[1..], r => Assert.Contains(",existing,lnk_", r, StringComparison.Ordinal));
        var listed = await server.RunAsync("links", "list", "--tag", tag, "--limit", "0", "--json");
        Assert.Equal(2500, JsonSerializer.Deserialize<List<LinkResponse>>(listed.Out, Json)!.Count);
    }

    [Fact]
    public async Task LinksImportResumesAfterCtrlCFromItsStateFile()
    {
        var tag = UniqueSlug("res");
        var file = server.WriteLinksCsv($"{tag}.csv", tag, 2500);
        var resultsPath = Path.ChangeExtension(file, null) + ".results.csv";
        using var ctrlC = new CancellationTokenSource();

        var stopped = await server.RunAsync(["links", "import", file, "--json"],
            onError: line => { if (line.StartsWith("1,000/", StringComparison.Ordinal)) { ctrlC.Cancel(); } },
            cancellationToken: ctrlC.Token);
        var state = JsonNode.Parse(File.ReadAllText(resultsPath + ".state.json"))!;
        var resumed = await server.RunAsync("links", "import", file, "--json");

        Assert.Equal(130, stopped.ExitCode);
        Assert.Equal(1000, (int)state["done"]!);
        Assert.Contains("Resuming after row 1,000", resumed.Error, StringComparison.Ordinal);
        Assert.Equal((2500, 0), Counts(resumed.Out));
        Assert.False(File.Exists(resultsPath + ".state.json"));
        var lines = File.ReadAllLines(resultsPath)[1..];
        Assert.Equal(2500, lines.Length);
        Assert.Equal(2500, lines.Select(l => l.Split(',')[0]).Distinct().Count());
        Assert.All(lines, l => Assert.Contains(",created,", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LinksImportReportsBadRowsInTheResultsAndExitsOne()
    {
        var file = server.PathOf($"{UniqueSlug("bad")}.csv");
        var slug = UniqueSlug("good");
        File.WriteAllText(file, $"url,slug,maxClicks\nhttps://example.com/good,{slug},\nnot a url,,\nhttps://example.com/n,,many\n");

        var run = await server.RunAsync("links", "import", file, "--json");

        Assert.Equal(1, run.ExitCode);
        var results = File.ReadAllLines(Path.ChangeExtension(file, null) + ".results.csv");
        Assert.StartsWith("2,created,", results[1], StringComparison.Ordinal);
        Assert.StartsWith("3,error,", results[2], StringComparison.Ordinal);
        Assert.StartsWith("4,error,", results[3], StringComparison.Ordinal);
        Assert.Contains("maxClicks", results[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinksImportRefusesAFileWithAnUnknownColumnAsAUsageError()
    {
        var file = server.PathOf($"{UniqueSlug("col")}.csv");
        File.WriteAllText(file, "url,colour\nhttps://example.com/,red\n");

        var run = await server.RunAsync("links", "import", file);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("colour", run.Error, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string[]> Exports => new()
    {
        { "bitly", "bitly.csv", ["bly-spring", "bly-docs"] },
        { "bitly", "bitly.json", ["blyj-launch", "blyj-blog"] },
        { "shlink", "shlink.csv", ["shl-pricing", "shl-jobs"] },
        { "yourls", "yourls.csv", ["yrl-home", "yrl-faq"] },
        { "kutt", "kutt.json", ["ktt-signup", "ktt-status"] },
    };

    [Theory]
    [MemberData(nameof(Exports))]
    public async Task ImportsTheSlugsDestinationsTitlesTagsAndCreationDatesOfAnotherShortenersExport(string system, string sample, string[] slugs)
    {
        var copy = server.PathOf(sample);
        File.Copy(Path.Combine(TestData.RepositoryRoot, "tests", "Tern.Server.Tests", "Cli", "Samples", sample), copy, overwrite: true);

        var run = await server.RunAsync("import", "--from", system, copy, "--tag", $"from-{system}", "--json");

        Assert.True(run.ExitCode == 0, run.Error + run.Out);
        var links = new List<LinkResponse>();
        foreach (var slug in slugs)
        {
            links.Add(JsonSerializer.Deserialize<LinkResponse>((await server.RunAsync("links", "get", slug, "--json")).Out, Json)!);
        }

        Assert.All(links, l => Assert.Contains($"from-{system}", l.Tags));
        Assert.All(File.ReadAllLines(Path.ChangeExtension(copy, null) + ".results.csv")[1..], r => Assert.Matches(@",\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r));
        var expected = Expected[sample];
        Assert.Equal(expected.Url, links[0].Url);
        Assert.Equal(expected.Title, links[0].Title);
        Assert.Equal([.. expected.Tags, $"from-{system}"], links[0].Tags);
        Assert.Equal(DateTimeOffset.Parse(expected.CreatedAt, CultureInfo.InvariantCulture), links[0].CreatedAt);
    }

    private static readonly Dictionary<string, (string Url, string? Title, string[] Tags, string CreatedAt)> Expected = new()
    {
        ["bitly.csv"] = ("https://shop.example/spring?ref=bitly", "Spring sale", ["sale", "spring"], "2023-03-01T09:30:00Z"),
        ["bitly.json"] = ("https://product.example/launch", "Launch", ["launch", "q1"], "2024-01-09T08:00:00Z"),
        ["shlink.csv"] = ("https://example.com/pricing", "Pricing", ["web", "pricing"], "2023-05-04T08:20:30Z"),
        ["yourls.csv"] = ("https://example.org/", "Example home", [], "2021-03-04T10:11:12Z"),
        ["kutt.json"] = ("https://app.example/signup", "Sign-up page", [], "2022-08-01T12:34:56Z"),
    };

    private static (int Created, int Existing) Counts(string json)
    {
        var summary = JsonNode.Parse(json)!;
        return ((int)summary["created"]!, (int)summary["existing"]!);
    }
}
