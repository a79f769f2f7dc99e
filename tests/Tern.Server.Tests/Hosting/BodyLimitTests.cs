using System.Net;
using System.Text;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Hosting;

/// <summary>A server that accepts bodies of at most a kilobyte.</summary>
public sealed class SmallBodyTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:MaxRequestBodyBytes", "1000")];
}

public sealed class BodyLimitTests(SmallBodyTern tern) : IClassFixture<SmallBodyTern>
{
    [Fact]
    public async Task RefusesABodyOverTheConfiguredLimit()
    {
        var body = "{\"url\": \"https://example.com\", \"title\": \"" + new string('x', 1000) + "\"}";

        var response = await tern.Api().PostAsync("/api/v1/links", new StringContent(body, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge, "/problems/payload-too-large");
    }
}
