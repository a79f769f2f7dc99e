using System.Net;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Api;

/// <summary>POST /api/v1/links with an application/x-www-form-urlencoded body, the simplest step of no-code tools.</summary>
public sealed class LinkFormTests(TernFactory tern) : IClassFixture<TernFactory>
{
    private readonly HttpClient _api = tern.Api();

    private Task<HttpResponseMessage> PostFormAsync(params (string Name, string Value)[] fields) =>
        _api.PostAsync("/api/v1/links", new FormUrlEncodedContent(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))));

    [Fact]
    public async Task AFormCreatesTheLinkWithUtmPartsCommaSeparatedTagsAndTypedValues()
    {
        var slug = UniqueSlug("form");
        var response = await PostFormAsync(("url", "https://shop.example/p/42"), ("slug", slug), ("utm[source]", "newsletter"),
            ("utm[campaign]", "spring"), ("tags", "shop, spring"), ("maxClicks", "100"), ("forwardQuery", "false"),
            ("redirectType", "301"), ("title", ""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = await response.ReadAsync<LinkResponse>();
        Assert.Equal(slug, link.Slug);
        Assert.Equal("https://shop.example/p/42?utm_source=newsletter&utm_campaign=spring", link.Url);
        Assert.Equal(["shop", "spring"], link.Tags);
        Assert.Equal(100, link.MaxClicks);
        Assert.False(link.ForwardQuery);
        Assert.Equal(301, link.RedirectType);
        Assert.Null(link.Title);

        // The same form again is the same create: the existing link, 200.
        var again = await PostFormAsync(("url", "https://shop.example/p/42"), ("slug", slug), ("utm[source]", "newsletter"),
            ("utm[campaign]", "spring"), ("tags", "shop,spring"), ("maxClicks", "100"), ("forwardQuery", "false"), ("redirectType", "301"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Theory]
    [InlineData("url", "ftp://files.example/x", "url")]
    [InlineData("maxClicks", "lots", "maxClicks")]
    [InlineData("forwardQuery", "sometimes", "forwardQuery")]
    [InlineData("utm[origin]", "x", "utm[origin]")]
    [InlineData("colour", "blue", "colour")]
    [InlineData("expiresAt", "next tuesday", "expiresAt")]
    public async Task AFormWithABadFieldIsTheSameProblemAsJsonNamingTheField(string name, string value, string field)
    {
        var fields = name == "url" ? new[] { (name, value) } : [("url", "https://example.com/ok"), (name, value)];
        var problem = await (await PostFormAsync(fields)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task AFormTheDecoderRefusesIsAProblemAndCreatesNothing()
    {
        var body = new StringContent("url=https%3A%2F%2Fexample.com%2F%00&slug=" + UniqueSlug("nul"), System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
        var problem = await (await _api.PostAsync("/api/v1/links", body)).AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal("/problems/malformed-request", (string?)problem["type"]);
    }

    [Fact]
    public async Task ABodyWithoutAContentTypeIsUnsupported()
    {
        var body = new ByteArrayContent("url,slug\nhttps://example.com/,x"u8.ToArray());
        await (await _api.PostAsync("/api/v1/links", body)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task ABodyThatIsNeitherJsonNorAFormIsUnsupported()
    {
        var response = await _api.PostAsync("/api/v1/links", new StringContent("url=https://example.com", System.Text.Encoding.UTF8, "text/plain"));
        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }
}
