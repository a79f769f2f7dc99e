using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>
/// Tern behind a proxy at 127.0.0.1 that it trusts, with the country database and unique-visitor counting on.
/// The test server has no socket, so a startup filter gives each request the proxy's address as its peer.
/// </summary>
public sealed class BehindProxyTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:TrustedProxies:0", "127.0.0.1"),
        new("Tern:Geo:MmdbPath", File.Exists(TestData.CountryDatabasePath) ? TestData.CountryDatabasePath : null),
        new("Tern:Clicks:UniqueVisitors", "true"),
    ];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, PeerAddressFilter>());
    }

    private sealed class PeerAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Connection.RemoteIpAddress = IPAddress.Loopback;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}

public sealed class VisitorEnrichmentTests(BehindProxyTern tern) : IClassFixture<BehindProxyTern>
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    [Fact]
    public async Task CountryComesFromTheDatabaseForTheForwardedAddressAndVisitorsCountOncePerDay()
    {
        TestData.CountryDatabase();
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/geo", slug = UniqueSlug() });

        await VisitAsync(link.Slug, "81.2.69.142", Firefox);
        await VisitAsync(link.Slug, "81.2.69.142", Firefox);
        await VisitAsync(link.Slug, "10.1.2.3, 193.0.14.129", Firefox); // the client claims 10.1.2.3; our proxy saw 193.0.14.129
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var stats = await api.GetFromJsonAsync<StatsResponse>($"/api/v1/links/{link.Id}/stats", Json);
        Assert.Equal(3, stats!.Total);
        Assert.Equal(2, stats.UniqueVisitors);
        Assert.Equal([new BreakdownEntry("GB", 2), new BreakdownEntry("NL", 1)], stats.Countries);

        var csv = await api.GetStringAsync($"/api/v1/clicks?linkId={link.Id}&format=csv");
        Assert.DoesNotContain("81.2.69.142", csv, StringComparison.Ordinal);
        Assert.DoesNotContain("193.0.14.129", csv, StringComparison.Ordinal);
    }

    private async Task VisitAsync(string slug, string forwardedFor, string userAgent)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/" + slug);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().SendAsync(request)).StatusCode);
    }
}
