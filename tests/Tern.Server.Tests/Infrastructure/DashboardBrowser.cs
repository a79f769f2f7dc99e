using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Tern.Contracts;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>
/// Tern as a real server (its own process, Kestrel on a loopback port) and one headless Debian chromium driven by
/// Playwright, shared by a test class. Without chromium the tests skip with the reason, or fail when
/// <c>TERN_REQUIRE_BROWSER=1</c> (CI); no browser is ever downloaded.
/// </summary>
public sealed class DashboardBrowser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string AdminKey = "tern_DashboardAdminKey000000000000000";

    private readonly string _dataDir = Directory.CreateTempSubdirectory("tern-dashboard-").FullName;
    private IPlaywright? _playwright;
    private TernProcess? _tern;
    private IBrowser? _browser;

    public string? SkipReason { get; private set; }

    public TernProcess Tern => _tern ?? throw new InvalidOperationException(SkipReason);

    public HttpClient Api { get; } = new(new HttpClientHandler { AllowAutoRedirect = false });

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            SkipReason = $"Browser tests need Debian's chromium at {ChromiumPath} (apt-get install -y chromium).";
            if (Environment.GetEnvironmentVariable("TERN_REQUIRE_BROWSER") == "1")
            {
                throw new InvalidOperationException(SkipReason + " (TERN_REQUIRE_BROWSER=1)");
            }

            return;
        }

        _tern = await TernProcess.StartAsync(_dataDir, null,
            $"--Tern:AdminKey={AdminKey}",
            "--Tern:Webhooks:AllowPrivateNetworks=true",
            "--Tern:Dashboard:SessionCheckSeconds=1",
            "--Tern:Dashboard:RefreshSeconds=1");
        Api.BaseAddress = new Uri(_tern.BaseUrl);
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox"],
        });
    }

    /// <summary>A fresh browser context (its own cookies) with a page signed in with <paramref name="key"/>.</summary>
    public async Task<IPage> SignedInPageAsync(string key = AdminKey, bool javaScript = true)
    {
        var page = await NewPageAsync(javaScript);
        await page.GotoAsync("/dashboard");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Until the document is parsed, not its load event: the tests' own expectations wait for what they need, and a
        // load event missed while the sign-in's redirect replaced the page left this wait running out (15 s).
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/dashboard", new() { WaitUntil = WaitUntilState.DOMContentLoaded });
        return page;
    }

    public async Task<IPage> NewPageAsync(bool javaScript = true)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions { BaseURL = Tern.BaseUrl, JavaScriptEnabled = javaScript });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>A new key of the default workspace with these scopes, made through the API.</summary>
    public async Task<CreatedKeyResponse> CreateKeyAsync(string name, params string[] scopes)
    {
        var response = await Api.PostAsJsonAsync("/api/v1/keys", new { name, scopes }, ApiExtensions.Json);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CreatedKeyResponse>(ApiExtensions.Json))!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_tern is not null)
        {
            await _tern.DisposeAsync();
        }

        Api.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // A file the server still closes; the temporary folder is cleaned by the system.
        }
    }
}
