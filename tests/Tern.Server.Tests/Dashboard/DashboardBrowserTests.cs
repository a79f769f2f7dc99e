using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Dashboard;

/// <summary>The dashboard in a real browser against a real server, finding controls by role and label as people do.</summary>
[Collection(nameof(DashboardBrowserTests))]
public sealed partial class DashboardBrowserTests(DashboardBrowser browser) : IClassFixture<DashboardBrowser>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task SignsInCreatesALinkWithUtmsAndItsClickAppearsOnTheChartWithoutReloading()
    {
        var page = await SignedInAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Links", Exact = true }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "New link", Exact = true }).First.ClickAsync();
        await page.GetByLabel("Destination URL").FillAsync("https://example.com/spring?ref=mail");
        await page.GetByLabel("UTM source").FillAsync("newsletter");
        await Assertions.Expect(page.Locator("#destination-preview")).ToHaveTextAsync("https://example.com/spring?ref=mail&utm_source=newsletter");
        var slug = ApiExtensions.UniqueSlug("spring");
        await page.GetByLabel("Slug", new() { Exact = true }).FillAsync(slug);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create link" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToContainTextAsync(slug);
        await Assertions.Expect(page.Locator("#total-clicks")).ToHaveTextAsync("0 clicks");
        var pageUrl = page.Url;

        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{browser.Tern.BaseUrl}/{slug}");
        request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36");
        var followed = await visitor.SendAsync(request);
        Assert.Equal(HttpStatusCode.Found, followed.StatusCode);
        Assert.Equal("https://example.com/spring?ref=mail&utm_source=newsletter", followed.Headers.Location!.ToString());

        await Assertions.Expect(page.Locator("#total-clicks")).ToHaveTextAsync("1 click", new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(page.Locator("svg.chart rect[data-clicks='1']")).ToHaveCountAsync(1);
        Assert.Equal(pageUrl, page.Url);
    }

    [Fact]
    public async Task CsvUploadShowsTheInvalidRowsErrorNextToItAndCreatesTheOthers()
    {
        var page = await SignedInAsync();
        await page.GotoAsync("/dashboard/campaigns");
        var tag = "csv-" + Guid.NewGuid().ToString("N")[..8];
        var csv = $"url,tags\nhttps://example.com/a,{tag}\nnot a url,{tag}\nhttps://example.com/c,{tag}\n";
        await page.GetByLabel("CSV file").SetInputFilesAsync(new FilePayload { Name = "links.csv", MimeType = "text/csv", Buffer = System.Text.Encoding.UTF8.GetBytes(csv) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Check rows" }).ClickAsync();

        var row2 = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Row 2" });
        await Assertions.Expect(row2).ToContainTextAsync("error");
        await Assertions.Expect(row2.Locator(".error")).ToContainTextAsync("url");
        Assert.Empty(await LinksTaggedAsync(tag));

        await page.GetByRole(AriaRole.Button, new() { Name = "Create 2 links" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("2 links created");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Download results as CSV" })).ToBeVisibleAsync();
        Assert.Equal(["https://example.com/a", "https://example.com/c"], (await LinksTaggedAsync(tag)).Select(l => l.Url).Order());
    }

    [Fact]
    public async Task ALargeCsvIsCreatedPartByPartWithTheProgressBarAdvancing()
    {
        var page = await SignedInAsync();
        await page.GotoAsync("/dashboard/campaigns");
        var tag = "bulk-" + Guid.NewGuid().ToString("N")[..8];
        await UploadAsync(page, RowsCsv(tag, rows: 1200, invalidRow: 700));
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1,199 rows are ready; 1 row has an error");

        var progress = page.GetByRole(AriaRole.Progressbar, new() { Name = "Rows processed", IncludeHidden = true });
        await progress.EvaluateAsync("bar => { window.seen = []; new MutationObserver(() => window.seen.push(bar.value)).observe(bar, { attributeFilter: ['value'] }); }");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create 1,199 links" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1,199 links created, 0 already existed, 1 row failed.",
            new() { Timeout = (float)Patience.TotalMilliseconds });
        await Assertions.Expect(progress).ToBeVisibleAsync();
        await Assertions.Expect(progress).ToHaveAccessibleDescriptionAsync("1,200 of 1,200");
        await Assertions.Expect(page.GetByText("rows a second")).ToBeVisibleAsync();
        var seen = await page.EvaluateAsync<double[]>("() => window.seen");
        Assert.Contains(seen, value => value is > 0 and < 1200);
        Assert.Equal(1200, seen[^1]);

        var last = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Row 1200" });
        await Assertions.Expect(last).ToContainTextAsync("created");
        await Assertions.Expect(last.GetByRole(AriaRole.Link)).ToHaveTextAsync(new Regex("^http://"));
        var invalid = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Row 700" });
        await Assertions.Expect(invalid).ToContainTextAsync("error");
        await Assertions.Expect(invalid.Locator(".error")).ToContainTextAsync("url");
        var download = page.GetByRole(AriaRole.Link, new() { Name = "Download results as CSV" });
        await Assertions.Expect(download).ToBeVisibleAsync();
        var results = Uri.UnescapeDataString((await download.GetAttributeAsync("href"))!.Split(',', 2)[1]).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("index,status,id,slug,shortUrl,error", results[0]);
        Assert.Equal(1201, results.Length);
        Assert.StartsWith("699,error,", Assert.Single(results, line => line.Contains(",error,", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(1199, await CountTaggedAsync(tag));
    }

    [Fact]
    public async Task APartWhoseAnswerIsLostIsSentAgainAndCreatesNothingTwice()
    {
        var page = await SignedInAsync();
        var sent = 0;
        await page.RouteAsync("**/dashboard/campaigns/parts", async route =>
        {
            // The first part reaches the server, but its answer never comes back.
            if (Interlocked.Increment(ref sent) == 1)
            {
                await route.FetchAsync();
                await route.AbortAsync();
            }
            else
            {
                await route.ContinueAsync();
            }
        });
        await page.GotoAsync("/dashboard/campaigns");
        var tag = "lost-" + Guid.NewGuid().ToString("N")[..8];
        await UploadAsync(page, RowsCsv(tag, rows: 300, invalidRow: 2));
        await page.GetByRole(AriaRole.Button, new() { Name = "Create 299 links" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("299 links created, 0 already existed, 1 row failed.",
            new() { Timeout = (float)Patience.TotalMilliseconds });
        Assert.Equal(3, sent);
        Assert.Equal(299, await CountTaggedAsync(tag));
    }

    [Fact]
    public async Task WithoutJavaScriptACsvIsCreatedInOnePostWithTheResultsAtTheEnd()
    {
        var page = await SignedInAsync(javaScript: false);
        await page.GotoAsync("/dashboard/campaigns");
        var tag = "plain-" + Guid.NewGuid().ToString("N")[..8];
        await UploadAsync(page, RowsCsv(tag, rows: 300, invalidRow: 2));
        await page.GetByRole(AriaRole.Button, new() { Name = "Create 299 links" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("299 links created, 0 already existed, 1 row failed.");
        await Assertions.Expect(page.GetByRole(AriaRole.Progressbar, new() { Name = "Rows processed" })).ToHaveAccessibleDescriptionAsync("300 of 300");
        await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "Row 2" }).First).ToContainTextAsync("error");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Download results as CSV" })).ToBeVisibleAsync();
        Assert.Equal(299, await CountTaggedAsync(tag));
    }

    [Fact]
    public async Task MatrixPreviewShowsEveryCombinationAndCreatesNothing()
    {
        var page = await SignedInAsync();
        await page.GotoAsync("/dashboard/campaigns");
        var tag = "matrix-" + Guid.NewGuid().ToString("N")[..8];
        await page.GetByLabel("Destination template").FillAsync("https://example.com/{product}");
        await page.GetByLabel("UTM source template").FillAsync("{channel}");
        await page.GetByLabel("Tags").FillAsync(tag);
        await page.GetByLabel("Dimensions").FillAsync("product: shoes, hats\nchannel: email, social");
        await page.GetByRole(AriaRole.Button, new() { Name = "Preview links" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Preview (4)" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "https://example.com/hats?utm_source=social" })).ToBeVisibleAsync();
        Assert.Empty(await LinksTaggedAsync(tag));
    }

    [Fact]
    public async Task AWebhookDeliveryToARealReceiverAppearsInTheLogAndRetrySendsItAgain()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var page = await SignedInAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Webhooks" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No webhook endpoints yet.").Or(page.GetByRole(AriaRole.Table))).ToBeVisibleAsync();
        await page.GetByLabel("Endpoint URL").FillAsync(receiver.Url);
        foreach (var type in new[] { "link.created", "link.updated", "link.expired", "link.clicked" })
        {
            await page.GetByLabel(type).UncheckAsync();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Add endpoint" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("whsec_");
        await page.GetByRole(AriaRole.Link, new() { Name = "Open the endpoint" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send test event" }).ClickAsync();

        await receiver.WaitForAsync(1, Patience);
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "webhook.test" });
        await Assertions.Expect(row).ToContainTextAsync("succeeded", new() { Timeout = (float)Patience.TotalMilliseconds });
        await row.GetByText("Attempts and payload").ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("thanks");

        await row.GetByRole(AriaRole.Button, new() { NameRegex = RetryName() }).ClickAsync();
        var received = await receiver.WaitForAsync(2, Patience);
        Assert.Equal(received[0].Id, received[1].Id);
        await Assertions.Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = "webhook.test" }).Locator("[data-attempts]"))
            .ToHaveTextAsync("2", new() { Timeout = (float)Patience.TotalMilliseconds });
    }

    [Fact]
    public async Task EditsAWebhooksUrlEventsAndStatusAndSeesThemOnItsPage()
    {
        var webhook = await CreateWebhookAsync();
        var page = await SignedInAsync();
        await page.GotoAsync($"/dashboard/webhooks/{webhook.Id}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit endpoint" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Endpoint URL")).ToHaveValueAsync(webhook.Url);
        await Assertions.Expect(page.GetByLabel("link.expired")).ToBeCheckedAsync();

        var url = $"https://example.com/hooks/{Guid.NewGuid():N}";
        await page.GetByLabel("Endpoint URL").FillAsync(url);
        await page.GetByLabel("Description").FillAsync("CRM sync");
        await page.GetByLabel("link.expired").UncheckAsync();
        await page.GetByLabel("link.updated").CheckAsync();
        await page.GetByLabel("link.deleted").CheckAsync();
        await page.GetByLabel("Enabled", new() { Exact = true }).UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Level = 1 })).ToHaveTextAsync(url);
        Assert.Equal($"/dashboard/webhooks/{webhook.Id}", new Uri(page.Url).AbsolutePath);
        var card = page.Locator(".card").First;
        await Assertions.Expect(card).ToContainTextAsync("CRM sync");
        await Assertions.Expect(card.Locator(".tag")).ToHaveTextAsync(["link.updated", "link.deleted", webhook.Filter!.Tags![0]]);
        await Assertions.Expect(card).ToContainTextAsync("Disabled by a user.");

        var saved = (await browser.Api.GetFromJsonAsync<WebhookResponse>($"/api/v1/webhooks/{webhook.Id}", ApiExtensions.Json))!;
        Assert.Equal(url, saved.Url);
        Assert.Equal(["link.updated", "link.deleted"], saved.Events);
        Assert.Equal(webhook.Filter.Tags, saved.Filter?.Tags);
        Assert.False(saved.Enabled);
    }

    [Fact]
    public async Task AnInvalidWebhookUrlIsShownNextToTheFieldAndNothingIsSaved()
    {
        var webhook = await CreateWebhookAsync();
        var page = await SignedInAsync();
        await page.GotoAsync($"/dashboard/webhooks/{webhook.Id}/edit");
        await page.GetByLabel("Endpoint URL").FillAsync("ftp://example.com/hooks");
        var response = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync(),
            response => response.Request.Method == "POST");

        Assert.Equal(400, response.Status);
        var field = page.GetByLabel("Endpoint URL");
        await Assertions.Expect(field).ToHaveValueAsync("ftp://example.com/hooks");
        await Assertions.Expect(field).ToHaveAttributeAsync("aria-invalid", "true");
        await Assertions.Expect(field).ToHaveAccessibleDescriptionAsync("url must be an absolute http or https URL.");
        Assert.Equal(webhook.Url, (await browser.Api.GetFromJsonAsync<WebhookResponse>($"/api/v1/webhooks/{webhook.Id}", ApiExtensions.Json))!.Url);
    }

    [Fact]
    public async Task AReadOnlyKeySeesNoEditControlsAndAForgedPostIsRefused()
    {
        var response = await browser.Api.PostAsJsonAsync("/api/v1/links", new { url = "https://example.com/kept" }, ApiExtensions.Json);
        var link = (await response.Content.ReadFromJsonAsync<LinkResponse>(ApiExtensions.Json))!;
        var readOnly = await browser.CreateKeyAsync("Read only", "links:read", "analytics:read");
        var page = await SignedInAsync(readOnly.Key!);
        await page.GotoAsync("/dashboard/links");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Links" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "New link" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { NameRegex = ArchiveName() })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Campaigns" })).ToHaveCountAsync(0);

        // A forged archive with a valid antiforgery token (the page's own) still meets the scope check.
        var token = await page.Locator("input[name='__RequestVerificationToken']").First.GetAttributeAsync("value");
        var forged = await page.APIRequest.PostAsync("/dashboard/links", new()
        {
            Form = page.APIRequest.CreateFormData()
                .Set("_handler", "row").Set("__RequestVerificationToken", token!).Set("Action", $"archive {link.Id}"),
            MaxRedirects = 0,
        });
        Assert.Equal(403, forged.Status);
        Assert.False((await browser.Api.GetFromJsonAsync<LinkResponse>($"/api/v1/links/{link.Id}", ApiExtensions.Json))!.Archived);

        // The create form is not rendered for this key, so a post to it is refused before any handler runs.
        var created = await page.APIRequest.PostAsync("/dashboard/links/new", new()
        {
            Form = page.APIRequest.CreateFormData()
                .Set("_handler", "link").Set("__RequestVerificationToken", token!)
                .Set("Input.Url", "https://example.com/forged").Set("Input.Save", "save"),
            MaxRedirects = 0,
        });
        Assert.True(created.Status >= 400, $"got {created.Status}");
    }

    [Fact]
    public async Task AKeyIsShownOnceWhenCreatedAndCanBeRevoked()
    {
        var page = await SignedInAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).ClickAsync();
        var name = "Reporting " + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Key name").FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = await page.GetByRole(AriaRole.Status).Locator(".secret").InnerTextAsync();
        Assert.StartsWith("tern_", secret, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, page.Url, StringComparison.Ordinal);

        using var withKey = new HttpClient { BaseAddress = new Uri(browser.Tern.BaseUrl) };
        withKey.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await withKey.GetAsync("/api/v1/links")).StatusCode);

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke " + name }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Revoke " + name })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByText(secret)).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withKey.GetAsync("/api/v1/links")).StatusCode);
    }

    [Fact]
    public async Task SignOutEndsTheSession()
    {
        var page = await SignedInAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByText("You have signed out.")).ToBeVisibleAsync();
        await page.GotoAsync("/dashboard/links");
        await Assertions.Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.StartsWith("/dashboard/sign-in", new Uri(page.Url).AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARevokedKeyIsThrownOut()
    {
        var key = await browser.CreateKeyAsync("Soon revoked", "links:read");
        var page = await SignedInAsync(key.Key!);
        (await browser.Api.DeleteAsync($"/api/v1/keys/{key.Id}")).EnsureSuccessStatusCode();

        // The session checks its key at least every second here (every 30 s by default).
        var deadline = DateTime.UtcNow + Patience;
        do
        {
            await page.GotoAsync("/dashboard/links");
        }
        while (new Uri(page.Url).AbsolutePath != "/dashboard/sign-in" && DateTime.UtcNow < deadline);

        await Assertions.Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        await page.GotoAsync("/dashboard");
        Assert.Equal("/dashboard/sign-in", new Uri(page.Url).AbsolutePath);
    }

    private async Task<IPage> SignedInAsync(string key = DashboardBrowser.AdminKey, bool javaScript = true)
    {
        Assert.SkipWhen(browser.SkipReason is not null, browser.SkipReason ?? "");
        return await browser.SignedInPageAsync(key, javaScript);
    }

    private static async Task UploadAsync(IPage page, string csv)
    {
        await page.GetByLabel("CSV file").SetInputFilesAsync(new FilePayload { Name = "links.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        await page.GetByRole(AriaRole.Button, new() { Name = "Check rows" }).ClickAsync();
    }

    /// <summary>Links without slugs (so only idempotency keeps a part sent twice from creating them twice), one of them invalid.</summary>
    private static string RowsCsv(string tag, int rows, int invalidRow)
    {
        var csv = new StringBuilder("url,tags\n");
        for (var row = 1; row <= rows; row++)
        {
            csv.Append(row == invalidRow ? "not a url" : $"https://example.com/{tag}/{row}").Append(',').Append(tag).Append('\n');
        }

        return csv.ToString();
    }

    private async Task<int> CountTaggedAsync(string tag) =>
        (await browser.Api.GetStringAsync($"/api/v1/links?tag={tag}&format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;

    /// <summary>An endpoint no link event reaches (a tag no link has), so that nothing is ever delivered to it.</summary>
    private async Task<WebhookResponse> CreateWebhookAsync()
    {
        var response = await browser.Api.PostAsJsonAsync("/api/v1/webhooks", new
        {
            url = $"https://example.com/hooks/{Guid.NewGuid():N}",
            events = new[] { "link.expired" },
            filter = new { tags = new[] { "nowhere-" + Guid.NewGuid().ToString("N")[..8] } },
        }, ApiExtensions.Json);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<WebhookResponse>(ApiExtensions.Json))!;
    }

    private async Task<IReadOnlyList<LinkResponse>> LinksTaggedAsync(string tag) =>
        (await (await browser.Api.GetAsync($"/api/v1/links?tag={tag}")).Content.ReadFromJsonAsync<ListResponse<LinkResponse>>(ApiExtensions.Json))!.Items;

    [GeneratedRegex("^Retry ")]
    private static partial Regex RetryName();

    [GeneratedRegex("^Archive ")]
    private static partial Regex ArchiveName();
}

/// <summary>
/// Runs <see cref="DashboardBrowserTests"/> with no other test alongside: their waits are a person's (seconds for a page
/// to show what it should), and with the rest of the suite saturating a 2-core machine a browser could miss them.
/// </summary>
[CollectionDefinition(nameof(DashboardBrowserTests), DisableParallelization = true)]
public sealed class DashboardBrowserCollection;
