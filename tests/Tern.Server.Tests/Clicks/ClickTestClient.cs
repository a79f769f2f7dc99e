using System.Net;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Clicks;

/// <summary>What the click suites share: browsers to click as, a visit with their headers, and a workspace of one's own.</summary>
public static class ClickTestClient
{
    public const string IPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    public const string WindowsChrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

    /// <summary>Follows the short link as a browser with these headers would, and asserts the redirect.</summary>
    public static async Task VisitAsync(TernFactory tern, string slug, string userAgent, string? country = null, string? referrer = null, string? language = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/" + slug);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        if (country is not null)
        {
            request.Headers.Add("CF-IPCountry", country);
        }

        if (referrer is not null)
        {
            request.Headers.TryAddWithoutValidation("Referer", referrer);
        }

        if (language is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", language);
        }

        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().SendAsync(request)).StatusCode);
    }

    /// <summary>A client of a new workspace whose key reads and writes links and reads analytics.</summary>
    public static async Task<HttpClient> NewWorkspaceClientAsync(TernFactory tern)
    {
        var admin = tern.Api();
        var workspace = await (await admin.PostJsonAsync("/api/v1/workspaces", new { name = "ws" })).ReadAsync<WorkspaceResponse>();
        var key = await (await admin.PostJsonAsync("/api/v1/keys",
                new { name = "k", scopes = new[] { "links:read", "links:write", "analytics:read" }, workspaceId = workspace.Id }))
            .ReadAsync<CreatedKeyResponse>();
        return tern.Api(key.Key);
    }
}
