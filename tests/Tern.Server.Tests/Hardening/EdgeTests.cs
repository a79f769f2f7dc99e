using System.Net;
using System.Net.Sockets;
using System.Text;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Hardening;

/// <summary>A server whose failed authentications run out after three per address.</summary>
public sealed class FailedAuthLimitedTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:RateLimit:FailedAuthBurst", "3"),
        new("Tern:RateLimit:FailedAuthPerMinute", "1"),
    ];
}

public sealed class FailedAuthenticationTests(FailedAuthLimitedTern tern) : IClassFixture<FailedAuthLimitedTern>
{
    [Fact]
    public async Task UnknownKeysFromOneAddressAreAnswered429WithRetryAfterOnceTheyRunOut()
    {
        var guesser = tern.Api("tern_guessedKey00000000000000000000");
        for (var i = 0; i < 3; i++)
        {
            await (await guesser.GetAsync("/api/v1/links")).AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        var limited = await guesser.GetAsync("/api/v1/links");
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "/problems/rate-limited");
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        await (await tern.Api("not-even-a-key").GetAsync("/api/v1/links")).AssertProblemAsync(HttpStatusCode.TooManyRequests);

        // Calls without a key are not failures and are not counted: they still get their 401.
        await (await tern.Api(null).GetAsync("/api/v1/links")).AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}

/// <summary>Tern on a real Kestrel listener, which (unlike the in-memory test server) refuses unsafe header values.</summary>
public class KestrelTern : TernFactory
{
    public KestrelTern() : this(new SqliteBackend())
    {
    }

    protected KestrelTern(StorageBackend storage) : base(storage) => UseKestrel(0);

    public override async ValueTask InitializeAsync()
    {
        await Storage.InitializeAsync();
        StartServer();
    }

    public Uri ServerAddress => ClientOptions.BaseAddress;
}

public sealed class PostgresKestrelTern() : KestrelTern(new PostgresBackend())
{
    public override async ValueTask InitializeAsync()
    {
        if (await PostgresCluster.GetAsync() is null)
        {
            return; // the tests skip (or fail under TERN_REQUIRE_POSTGRES) through PostgresBackend
        }

        await base.InitializeAsync();
    }
}

public abstract class RedirectQueryTests(KestrelTern tern)
{
    [Fact]
    public async Task AControlByteInTheQueryIsForwardedPercentEncodedAndCountedOnlyWhenAnswered()
    {
        if (tern.Storage is PostgresBackend && PostgresCluster.IsUnavailable)
        {
            PostgresBackend.SkipOrFailForMissingPostgres();
        }

        var api = tern.CreateClient();
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TernFactory.AdminKey);
        var link = await api.CreateLinkAsync(new { url = "https://example.com/landing", slug = UniqueSlug("ctl"), maxClicks = 3 });

        for (var i = 0; i < 3; i++)
        {
            var (status, location) = await SendRawAsync($"/{link.Slug}?q=a\u007fb&n={i}");
            Assert.Equal(302, status);
            Assert.Equal($"https://example.com/landing?q=a%7Fb&n={i}", location);
        }

        var (exhausted, _) = await SendRawAsync($"/{link.Slug}?q=\u007f");
        Assert.Equal(410, exhausted);

        // The stored clicks reach the tally: three, not more and not fewer.
        LinkResponse stored;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            stored = await (await api.GetAsync($"/api/v1/links/{link.Id}")).ReadAsync<LinkResponse>();
        }
        while (stored.Clicks < 3 && DateTime.UtcNow < deadline && await Task.Delay(50, TestContext.Current.CancellationToken).ContinueWith(_ => true));

        Assert.Equal(3, stored.Clicks);
    }

    /// <summary>Sends a request line byte for byte (HttpClient would encode the query) and reads the status and Location.</summary>
    private async Task<(int Status, string? Location)> SendRawAsync(string target)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(tern.ServerAddress.Host, tern.ServerAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes($"GET {target} HTTP/1.1\r\nHost: go.test\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.Latin1);
        var response = await reader.ReadToEndAsync();
        var lines = response.Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var location = lines.FirstOrDefault(l => l.StartsWith("Location:", StringComparison.OrdinalIgnoreCase))?["Location:".Length..].Trim();
        return (status, location);
    }
}

public sealed class RedirectQueryTestsOnSqlite(KestrelTern tern) : RedirectQueryTests(tern), IClassFixture<KestrelTern>;

public sealed class RedirectQueryTestsOnPostgres(PostgresKestrelTern tern) : RedirectQueryTests(tern), IClassFixture<PostgresKestrelTern>;
