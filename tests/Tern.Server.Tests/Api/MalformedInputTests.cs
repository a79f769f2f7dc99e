using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Api;

/// <summary>Every malformed request gets a 4xx problem naming what is wrong; none gets a 500.</summary>
public sealed class MalformedInputTests(TernFactory tern) : IClassFixture<TernFactory>
{
    public static TheoryData<string, string> BadJsonBodies => new()
    {
        { "", "body" },
        { "{", "JSON" },
        { "[]", "JSON" },
        { "null", "" },
        { "\"https://example.com\"", "JSON" },
        { "{\"url\": 5}", "$.url" },
        { "{\"url\": \"https://example.com\", \"tags\": \"a\"}", "$.tags" },
        { "{\"url\": \"https://example.com\", \"tags\": [1]}", "$.tags" },
        { "{\"url\": \"https://example.com\", \"maxClicks\": \"many\"}", "$.maxClicks" },
        { "{\"url\": \"https://example.com\", \"maxClicks\": 1.5}", "$.maxClicks" },
        { "{\"url\": \"https://example.com\", \"maxClicks\": 99999999999999999999999}", "$.maxClicks" },
        { "{\"url\": \"https://example.com\", \"redirectType\": \"permanent\"}", "$.redirectType" },
        { "{\"url\": \"https://example.com\", \"forwardQuery\": \"yes\"}", "$.forwardQuery" },
        { "{\"url\": \"https://example.com\", \"expiresAt\": \"tomorrow\"}", "tomorrow" },
        { "{\"url\": \"https://example.com\", \"expiresAt\": 1700000000}", "ISO-8601" },
        { "{\"url\": \"https://example.com\", \"utm\": \"source=x\"}", "$.utm" },
        { "{\"url\": \"https://example.com\", \"slgu\": \"typo\"}", "slgu" },
        { "{\"url\": \"https://example.com\",}", "JSON" },
        { "{\"url\": \"https://example.com\"} trailing", "JSON" },
        { "{'url': 'https://example.com'}", "JSON" },
    };

    [Theory]
    [MemberData(nameof(BadJsonBodies))]
    public async Task MalformedJsonAnswers400ProblemNamingTheSpot(string body, string mention)
    {
        var response = await PostRawAsync("/api/v1/links", body);
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(mention, problem.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADuplicatePropertyIsReadAsItsLastValue()
    {
        var response = await PostRawAsync("/api/v1/links", "{\"url\": \"https://example.com/first\", \"url\": \"https://other.example/last\"}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("https://other.example/last", (await response.ReadAsync<Tern.Contracts.LinkResponse>()).Url);
    }

    public static TheoryData<string, string> BadLinkFields => new()
    {
        { "{}", "url" },
        { "{\"url\": null}", "url" },
        { "{\"url\": \"\"}", "url" },
        { "{\"url\": \"example.com\"}", "url" },
        { "{\"url\": \"ftp://example.com\"}", "url" },
        { "{\"url\": \"javascript:alert(1)\"}", "url" },
        { "{\"url\": \"https://user:pw@example.com\"}", "url" },
        { "{\"url\": \"https://example.com/a b\"}", "url" },
        { "{\"url\": \"https://example.com/\\r\\nX: y\"}", "url" },
        { "{\"url\": \"https://example.com/" + "aaaaaaaaaa" + "\", \"slug\": \"\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"has space\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"a/b\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"api\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"Dashboard\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"" + "x" + "0123456789012345678901234567890123456789012345678901234567890123\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"slug\": \"émoji\"}", "slug" },
        { "{\"url\": \"https://example.com\", \"domain\": \"evil.example\"}", "domain" },
        { "{\"url\": \"https://example.com\", \"domain\": \"not a host\"}", "domain" },
        { "{\"url\": \"https://example.com\", \"redirectType\": 303}", "redirectType" },
        { "{\"url\": \"https://example.com\", \"maxClicks\": 0}", "maxClicks" },
        { "{\"url\": \"https://example.com\", \"maxClicks\": -5}", "maxClicks" },
        { "{\"url\": \"https://example.com\", \"expiredUrl\": \"nope\"}", "expiredUrl" },
        { "{\"url\": \"https://example.com\", \"tags\": [\"\"]}", "tags" },
        { "{\"url\": \"https://example.com\", \"externalId\": \"\"}", "externalId" },
        { "{\"url\": \"https://example.com\", \"externalId\": \"a/b\"}", "externalId" },
        { "{\"url\": \"https://example.com\", \"utm\": {\"source\": \"a\\u0000b\"}}", "utm.source" },
    };

    [Theory]
    [MemberData(nameof(BadLinkFields))]
    public async Task InvalidFieldsAnswer400WithAnErrorPerField(string body, string field)
    {
        var problem = await (await PostRawAsync("/api/v1/links", body)).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    [Fact]
    public async Task AnOversizedBodyAnswers413()
    {
        var body = "{\"url\": \"https://example.com\", \"title\": \"" + new string('x', 5 * 1024 * 1024) + "\"}";
        await (await PostRawAsync("/api/v1/links", body)).AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/payload-too-large");
    }

    [Fact]
    public async Task ABodyThatIsNotJsonAnswers415()
    {
        // POST /links also takes a form body; another call that takes only JSON refuses it.
        var content = new StringContent("url=https://example.com", Encoding.UTF8, "application/x-www-form-urlencoded");
        await (await tern.Api().PostAsync("/api/v1/webhooks", content)).AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "/problems/unsupported-media-type");
    }

    [Fact]
    public async Task InvalidUtf8Answers400()
    {
        var content = new ByteArrayContent([.. "{\"url\": \"https://example.com/"u8, 0xC3, 0x28, .. "\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        await (await tern.Api().PostAsync("/api/v1/links", content)).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task DeeplyNestedJsonAnswers400()
    {
        var body = "{\"url\": \"https://example.com\", \"utm\": " + new string('[', 5000) + new string(']', 5000) + "}";
        await (await PostRawAsync("/api/v1/links", body)).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/api/v1/links?limit=abc", "limit")]
    [InlineData("/api/v1/links?limit=0", "limit")]
    [InlineData("/api/v1/links?limit=1001", "limit")]
    [InlineData("/api/v1/links?archived=maybe", "archived")]
    [InlineData("/api/v1/links?cursor=garbage", "cursor")]
    [InlineData("/api/v1/links?cursor=lnk_'%20OR%201=1", "cursor")]
    public async Task BadQueryParametersAnswer400NamingTheParameter(string path, string field)
    {
        var problem = await (await tern.Api().GetAsync(path)).AssertProblemAsync(HttpStatusCode.BadRequest, "/problems/validation");
        Assert.NotNull(problem["errors"]?[field]);
    }

    [Theory]
    [InlineData("PATCH", "/api/v1/links/lnk_00000000000000000000000000", "{\"url\": 5}", HttpStatusCode.BadRequest)]
    [InlineData("PATCH", "/api/v1/links/lnk_00000000000000000000000000", "{\"nope\": 1}", HttpStatusCode.BadRequest)]
    [InlineData("PATCH", "/api/v1/links/%20", "{}", HttpStatusCode.NotFound)]
    [InlineData("PUT", "/api/v1/links/external/x", "{\"url\": []}", HttpStatusCode.BadRequest)]
    [InlineData("PUT", "/api/v1/links", "{}", HttpStatusCode.MethodNotAllowed)]
    [InlineData("POST", "/api/v1/workspaces", "{\"name\": {}}", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/workspaces", "{}", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/keys", "{\"name\": \"k\", \"scopes\": \"admin\"}", HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/keys", "{\"name\": \"k\"}", HttpStatusCode.BadRequest)]
    [InlineData("GET", "/api/v1/links/lnk_%FF%FE", "", HttpStatusCode.NotFound)]
    [InlineData("GET", "/api/v1/nothing/here", "", HttpStatusCode.NotFound)]
    [InlineData("DELETE", "/api/v1/keys/key_unknown", "", HttpStatusCode.NotFound)]
    public async Task OtherMalformedCallsAnswerTheir4xxProblem(string method, string path, string body, HttpStatusCode status)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        await (await tern.Api().SendAsync(request)).AssertProblemAsync(status);
    }

    [Theory]
    [InlineData("Idempotency-Key", "")]
    [InlineData("Idempotency-Key", "has space")]
    public async Task AMalformedIdempotencyKeyAnswers400(string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/links")
        {
            Content = new StringContent("{\"url\": \"https://example.com\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(header, value + new string('x', value.Length == 0 ? 300 : 0));
        await (await tern.Api().SendAsync(request)).AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    private Task<HttpResponseMessage> PostRawAsync(string path, string body) =>
        tern.Api().PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
}
