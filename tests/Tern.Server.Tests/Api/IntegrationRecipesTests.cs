using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Api;

/// <summary>
/// Every HTTP call the integration recipes (docs/integrations/*.md) show runs against a real server as written: the
/// fenced <c>http</c> blocks are parsed (request line, headers, body) and sent with only the server's address and the
/// API key put in. Each recipe is run twice, since the recipes promise that a re-run makes nothing new.
/// </summary>
public sealed partial class IntegrationRecipesTests(TernFactory tern) : IClassFixture<TernFactory>
{
    private const string DocumentedOrigin = "https://tern.example.com";
    private const string DocumentedKey = "tern_YOUR_API_KEY";

    public static TheoryData<string> Recipes() =>
        [.. Directory.GetFiles(Path.Combine(TestData.RepositoryRoot, "docs", "integrations"), "*.md")
            .Select(file => Path.GetFileName(file)).Where(name => name != "README.md").Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Recipes))]
    public async Task EveryCallARecipeShowsSucceedsAndARerunMakesNothingNew(string recipe)
    {
        var calls = Calls(File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "docs", "integrations", recipe)));
        Assert.NotEmpty(calls);
        using var client = tern.Api(key: null);

        foreach (var pass in new[] { "first", "re-run" })
        {
            foreach (var call in calls)
            {
                using var request = call.ToRequest();
                using var response = await client.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{recipe} ({pass} run): {call.Method} {call.Path} answered {(int)response.StatusCode}: {body}");
                if (call.Method != HttpMethod.Get)
                {
                    Assert.Contains("\"shortUrl\":", body, StringComparison.Ordinal);
                    // A repeat answers 200 with the existing link, or replays the first answer for the same Idempotency-Key.
                    var replayed = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Contains("true");
                    Assert.True(pass == "first" || response.StatusCode == HttpStatusCode.OK || replayed,
                        $"{recipe}: the re-run of {call.Method} {call.Path} made something new");
                }
            }
        }
    }

    [Fact]
    public void EveryFlowOfTheIndexHasARecipeWithCallsForEachTool()
    {
        var folder = Path.Combine(TestData.RepositoryRoot, "docs", "integrations");
        var index = File.ReadAllText(Path.Combine(folder, "README.md"));
        foreach (Match link in RecipeLink().Matches(index))
        {
            var text = File.ReadAllText(Path.Combine(folder, link.Groups[1].Value));
            Assert.NotEmpty(Calls(text));
            Assert.All(new[] { "## n8n", "## Zapier", "## Make" }, tool => Assert.Contains(tool, text, StringComparison.Ordinal));
        }

        Assert.Equal(4, RecipeLink().Matches(index).Count);
    }

    private sealed record Call(HttpMethod Method, string Path, List<(string Name, string Value)> Headers, string? Body)
    {
        public HttpRequestMessage ToRequest()
        {
            var request = new HttpRequestMessage(Method, Path);
            string? contentType = null;
            foreach (var (name, value) in Headers)
            {
                var given = value.Replace(DocumentedKey, TernFactory.AdminKey, StringComparison.Ordinal);
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    contentType = given;
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(name, given);
                }
            }

            if (Body is not null)
            {
                request.Content = new StringContent(Body, Encoding.UTF8);
                request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType!);
            }

            return request;
        }
    }

    /// <summary>The requests of a page's <c>```http</c> blocks: a request line, headers, a blank line, the body.</summary>
    private static List<Call> Calls(string markdown) =>
        [.. HttpBlock().Matches(markdown).Select(block =>
        {
            var lines = block.Groups[1].Value.Replace("\r", "", StringComparison.Ordinal).Split('\n');
            var requestLine = lines[0].Split(' ', 2);
            Assert.StartsWith(DocumentedOrigin + "/", requestLine[1], StringComparison.Ordinal);
            var headers = new List<(string, string)>();
            var i = 1;
            for (; i < lines.Length && lines[i].Length > 0; i++)
            {
                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                headers.Add((lines[i][..colon].Trim(), lines[i][(colon + 1)..].Trim()));
            }

            var body = string.Join('\n', lines.Skip(i + 1)).Trim();
            return new Call(new HttpMethod(requestLine[0]), requestLine[1][DocumentedOrigin.Length..], headers, body.Length > 0 ? body : null);
        })];

    [GeneratedRegex(@"```http\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex HttpBlock();

    [GeneratedRegex(@"\]\(([a-z-]+\.md)\)")]
    private static partial Regex RecipeLink();
}
