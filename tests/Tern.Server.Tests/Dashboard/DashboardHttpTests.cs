using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Dashboard;

/// <summary>What the dashboard promises at the HTTP level: its headers, its cookie, antiforgery, encoding.</summary>
public sealed partial class DashboardHttpTests(TernFactory tern) : IClassFixture<TernFactory>
{
    [Fact]
    public async Task DashboardPagesForbidInlineScriptAndFramingAndLoadNothingFromAnotherOrigin()
    {
        var response = await Browser().GetAsync("/dashboard/sign-in");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);

        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(InlineScript(), html);
        Assert.DoesNotMatch(ForeignAsset(), html);
        Assert.Contains("<label for=\"api-key\">API key</label>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASignedOutVisitorIsSentToSignIn()
    {
        var response = await Browser().GetAsync("/dashboard/links");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/dashboard/sign-in", response.Headers.Location!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownKeyIsRefusedWithTheErrorNextToTheField()
    {
        var client = Browser();
        var response = await SignInAsync(client, "tern_unknownKey000000000000000000000");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"api-key-error\" class=\"error\">That key is unknown or has been revoked.", html, StringComparison.Ordinal);
        Assert.Contains("aria-invalid=\"true\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSessionIsAnHttpOnlySameSiteCookieThatHoldsNoSecret()
    {
        var response = await SignInAsync(Browser(), TernFactory.AdminKey);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard", new Uri(new Uri(TernFactory.BaseUrl), response.Headers.Location!).AbsolutePath);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tern_dashboard=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(TernFactory.AdminKey, cookie, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APostWithoutAnAntiforgeryTokenIsRefused()
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/kept" });
        var client = Browser();
        await SignInAsync(client, TernFactory.AdminKey);

        var response = await client.PostAsync("/dashboard/links", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "row",
            ["Action"] = $"archive {link.Id}",
        }));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False((await (await tern.Api().GetAsync($"/api/v1/links/{link.Id}")).ReadAsync<LinkResponse>()).Archived);
    }

    [Fact]
    public async Task AForgedWebhookEditFromAReadOnlyKeyIsRefusedAndChangesNothing()
    {
        var webhook = await (await tern.Api().PostJsonAsync("/api/v1/webhooks", new { url = "https://example.com/hooks/kept", events = new[] { "link.expired" } }))
            .ReadAsync<WebhookResponse>();
        var reader = await (await tern.Api().PostJsonAsync("/api/v1/keys", new { name = "webhook reader", scopes = new[] { "webhooks:read" } }))
            .ReadAsync<CreatedKeyResponse>();
        var client = Browser();
        await SignInAsync(client, reader.Key!);
        var page = await client.GetAsync($"/dashboard/webhooks/{webhook.Id}/edit");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.DoesNotContain("Endpoint URL", html, StringComparison.Ordinal);

        var response = await client.PostAsync($"/dashboard/webhooks/{webhook.Id}/edit", new FormUrlEncodedContent(
        [
            new("_handler", "webhook"),
            new("__RequestVerificationToken", Token().Match(html).Groups[1].Value),
            new("Input.Url", "https://example.com/hooks/forged"),
            new("Input.Events", "link.clicked"),
            new("Input.Enabled", "true"),
        ]));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var after = await (await tern.Api().GetAsync($"/api/v1/webhooks/{webhook.Id}")).ReadAsync<WebhookResponse>();
        Assert.Equal("https://example.com/hooks/kept", after.Url);
        Assert.Equal(["link.expired"], after.Events);
    }

    [Fact]
    public async Task ACampaignPartWithoutAnAntiforgeryTokenIsRefused()
    {
        var (client, _) = await SignedInWithTokenAsync(TernFactory.AdminKey);
        var tag = "part-" + Guid.NewGuid().ToString("N")[..8];

        var response = await client.PostAsync("/dashboard/campaigns/parts", Part(null, $"url,tags\nhttps://example.com/a,{tag}\n"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountTaggedAsync(tag));
    }

    [Fact]
    public async Task ACampaignPartFromAKeyWithoutLinksWriteIsRefused()
    {
        var reader = await (await tern.Api().PostJsonAsync("/api/v1/keys", new { name = "link reader", scopes = new[] { "links:read" } }))
            .ReadAsync<CreatedKeyResponse>();
        var (client, token) = await SignedInWithTokenAsync(reader.Key!);
        var tag = "part-" + Guid.NewGuid().ToString("N")[..8];

        var response = await client.PostAsync("/dashboard/campaigns/parts", Part(token, $"url,tags\nhttps://example.com/a,{tag}\n"));

        await response.AssertProblemAsync(HttpStatusCode.Forbidden, "/problems/forbidden");
        Assert.Equal(0, await CountTaggedAsync(tag));
    }

    [Theory]
    [InlineData("application/json", "{\"csv\": \"url\\nhttps://example.com/a\", \"first\": 0}", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\nurl", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/x-www-form-urlencoded", "first=ten&csv=url%0Ahttps%3A%2F%2Fexample.com%2Fa", HttpStatusCode.BadRequest)]
    [InlineData("application/x-www-form-urlencoded", "first=0&csv=url,nonsense%0Ahttps%3A%2F%2Fexample.com%2Fa,x", HttpStatusCode.BadRequest)]
    [InlineData("application/x-www-form-urlencoded", "first=0&csv=url%0A", HttpStatusCode.BadRequest)]
    [InlineData("application/x-www-form-urlencoded", "first=0", HttpStatusCode.BadRequest)]
    public async Task AMalformedCampaignPartGetsAProblemNotAServerError(string contentType, string body, HttpStatusCode status)
    {
        var (client, token) = await SignedInWithTokenAsync(TernFactory.AdminKey);
        var content = new StringContent(body);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/campaigns/parts") { Content = content };
        request.Headers.Add("RequestVerificationToken", token);

        await (await client.SendAsync(request)).AssertProblemAsync(status);
    }

    [Fact]
    public async Task ACampaignPartSentAgainWithItsIdempotencyKeyCreatesNoLinkTwice()
    {
        var (client, token) = await SignedInWithTokenAsync(TernFactory.AdminKey);
        var tag = "part-" + Guid.NewGuid().ToString("N")[..8];
        var key = Guid.NewGuid().ToString("N");

        HttpResponseMessage first = null!;
        for (var send = 0; send < 2; send++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/campaigns/parts")
            {
                Content = Part(token, $"url,tags\nhttps://example.com/a,{tag}\nhttps://example.com/b,{tag}\n", first: 250),
            };
            request.Headers.Add("Idempotency-Key", key);
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(send == 1, response.Headers.Contains("Idempotent-Replayed"));
            first = send == 0 ? response : first;
        }

        var html = await first.Content.ReadAsStringAsync();
        Assert.Contains("<tr id=\"csv-row-251\"><td>Row 252</td>", html, StringComparison.Ordinal);
        Assert.Contains("data-created=\"2\"", html, StringComparison.Ordinal);
        Assert.Equal(2, await CountTaggedAsync(tag));
    }

    [Fact]
    public async Task UserContentIsEncoded()
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/x", title = "<script>alert('t')</script>" });
        var client = Browser();
        await SignInAsync(client, TernFactory.AdminKey);

        var html = await (await client.GetAsync("/dashboard/links")).Content.ReadAsStringAsync();
        Assert.Contains(link.Slug, html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheStylesheetAndScriptAreServedFromTheServerItself()
    {
        var client = Browser();
        var css = await client.GetAsync("/dashboard/assets/dashboard.css");
        var js = await client.GetAsync("/dashboard/assets/dashboard.js");
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/dashboard/assets/missing.css")).StatusCode);
    }

    private HttpClient Browser() => tern.CreateClient(new WebApplicationFactoryClientOptions
    {
        AllowAutoRedirect = false,
        HandleCookies = true,
        BaseAddress = new Uri(TernFactory.BaseUrl),
    });

    /// <summary>A signed-in client and an antiforgery token of its session, as the campaigns page holds one.</summary>
    private async Task<(HttpClient Client, string Token)> SignedInWithTokenAsync(string key)
    {
        var client = Browser();
        await SignInAsync(client, key);
        var html = await (await client.GetAsync("/dashboard/campaigns")).Content.ReadAsStringAsync();
        return (client, Token().Match(html).Groups[1].Value);
    }

    private static FormUrlEncodedContent Part(string? token, string csv, int first = 0) => new(
    [
        .. token is null ? [] : new[] { KeyValuePair.Create("__RequestVerificationToken", token) },
        KeyValuePair.Create("csv", csv),
        KeyValuePair.Create("first", first.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ]);

    private async Task<int> CountTaggedAsync(string tag) =>
        (await (await tern.Api().GetAsync($"/api/v1/links?tag={tag}&limit=100")).ReadAsync<ListResponse<LinkResponse>>()).Items.Count;

    private static async Task<HttpResponseMessage> SignInAsync(HttpClient client, string key)
    {
        var form = await (await client.GetAsync("/dashboard/sign-in")).Content.ReadAsStringAsync();
        var token = Token().Match(form).Groups[1].Value;
        return await client.PostAsync("/dashboard/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "sign-in",
            ["__RequestVerificationToken"] = token,
            ["Input.Key"] = key,
        }));
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex Token();

    [GeneratedRegex(@"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|\sstyle=")]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"(src|href)=""(https?:)?//")]
    private static partial Regex ForeignAsset();
}

public sealed class NoDashboardTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Tern:Dashboard:Enabled", "false")];
}

public sealed class DashboardOffTests(NoDashboardTern tern) : IClassFixture<NoDashboardTern>
{
    [Theory]
    [InlineData("/dashboard")]
    [InlineData("/dashboard/sign-in")]
    [InlineData("/dashboard/assets/dashboard.js")]
    public async Task WithTheDashboardOffItsPagesAnswer404AndTheApiAndRedirectsStillWork(string path)
    {
        var link = await tern.Api().CreateLinkAsync(new { url = "https://example.com/no-dashboard", slug = ApiExtensions.UniqueSlug("nodash") });

        Assert.Equal(HttpStatusCode.NotFound, (await tern.Visitor().GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
    }
}
