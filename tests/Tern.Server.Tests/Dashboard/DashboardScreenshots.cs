using System.Net.Http.Json;
using Microsoft.Playwright;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Dashboard;

/// <summary>
/// Regenerates docs/screenshots/*.png from a seeded server: run <c>bash docs/screenshots/update.sh</c>. Skipped in a
/// normal test run (it writes into the repository).
/// </summary>
public sealed class DashboardScreenshots(DashboardBrowser browser) : IClassFixture<DashboardBrowser>
{
    [Fact]
    public async Task CapturesTheMainPages()
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("TERN_SCREENSHOTS") == "1", "Screenshots are taken by docs/screenshots/update.sh.");
        Assert.SkipWhen(browser.SkipReason is not null, browser.SkipReason ?? "");
        var folder = Path.Combine(TestData.RepositoryRoot, "docs", "screenshots");

        await using var receiver = await WebhookReceiver.StartAsync();
        var links = new List<LinkResponse>();
        foreach (var (slug, url, tag) in new[]
                 {
                     ("spring-sale", "https://shop.example.com/spring", "spring"), ("newsletter-42", "https://example.com/news/42", "newsletter"),
                     ("launch", "https://example.com/launch", "launch"), ("get-started", "https://docs.example.com/start", "docs"),
                 })
        {
            var response = await browser.Api.PostAsJsonAsync("/api/v1/links",
                new { url, slug, tags = new[] { tag }, title = char.ToUpperInvariant(slug[0]) + slug[1..].Replace('-', ' '), utm = new { source = "newsletter" } },
                ApiExtensions.Json);
            links.Add((await response.Content.ReadFromJsonAsync<LinkResponse>(ApiExtensions.Json))!);
        }

        string[] agents =
        [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
        ];
        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        for (var i = 0; i < 60; i++)
        {
            using var click = new HttpRequestMessage(HttpMethod.Get, $"{browser.Tern.BaseUrl}/{links[i % 7 % links.Count].Slug}");
            click.Headers.UserAgent.ParseAdd(agents[i % agents.Length]);
            click.Headers.Referrer = new Uri(i % 2 == 0 ? "https://news.example.org/" : "https://social.example.net/post");
            await visitor.SendAsync(click);
        }

        var hook = await browser.Api.PostAsJsonAsync("/api/v1/webhooks", new { url = receiver.Url, events = new[] { "link.created" }, description = "CRM sync" }, ApiExtensions.Json);
        var webhook = (await hook.Content.ReadFromJsonAsync<WebhookResponse>(ApiExtensions.Json))!;
        await browser.Api.PostAsync($"/api/v1/webhooks/{webhook.Id}/test", null);
        await receiver.WaitForAsync(1, TimeSpan.FromSeconds(20));

        var page = await browser.SignedInPageAsync();
        await page.SetViewportSizeAsync(1280, 860);
        await page.GotoAsync("/dashboard");
        await Assertions.Expect(page.Locator("#live .figure").First).ToHaveTextAsync("60 clicks", new() { Timeout = 20_000 });
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "overview.png") });
        await SaveAsync(page, "/dashboard/links", folder, "links.png");
        await SaveAsync(page, $"/dashboard/links/{links[0].Id}", folder, "link.png");
        await SaveAsync(page, "/dashboard/links/new", folder, "new-link.png");
        await SaveAsync(page, $"/dashboard/webhooks/{webhook.Id}", folder, "webhook.png");
        await page.GotoAsync("/dashboard/campaigns");
        await page.GetByLabel("CSV file").SetInputFilesAsync(new FilePayload
        {
            Name = "links.csv",
            MimeType = "text/csv",
            Buffer = System.Text.Encoding.UTF8.GetBytes("url,slug,tags\nhttps://example.com/a,summer-a,summer\nnot a url,summer-b,summer\nhttps://example.com/c,summer-c,summer\n"),
        });
        await page.GetByRole(AriaRole.Button, new() { Name = "Check rows" }).ClickAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, "campaigns.png") });

        var signIn = await browser.NewPageAsync();
        await signIn.SetViewportSizeAsync(1280, 600);
        await SaveAsync(signIn, "/dashboard/sign-in", folder, "sign-in.png");
    }

    private static async Task SaveAsync(IPage page, string path, string folder, string file)
    {
        await page.GotoAsync(path);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, file) });
    }
}
