using System.Net;
using System.Text;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Storage;
using Tern.Server.Storage.Sqlite;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>Every request arrives from one public address, through a trusted proxy, with visitor hashing on.</summary>
internal sealed class FromOneAddress : IStartupFilter
{
    public const string Proxy = "192.0.2.10";
    public const string Visitor = "203.0.113.77";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, nextMiddleware) =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Parse(Proxy);
            return nextMiddleware(context);
        });
        next(app);
    };

    public static readonly KeyValuePair<string, string?>[] Settings =
    [
        new("Tern:TrustedProxies:0", Proxy),
        new("Tern:Clicks:UniqueVisitors", "true"),
    ];

    public static void AddTo(IWebHostBuilder builder) =>
        builder.ConfigureTestServices(services => services.AddSingleton<IStartupFilter, FromOneAddress>());
}

public sealed class AddressedTern : TernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => FromOneAddress.Settings;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        FromOneAddress.AddTo(builder);
    }
}

public sealed class PostgresAddressedTern : PostgresTernFactory
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => FromOneAddress.Settings;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        FromOneAddress.AddTo(builder);
    }
}

public abstract class RawAddressTests(TernFactory tern)
{
    [Fact]
    public async Task NoRawAddressIsStoredAnywhereInTheDatabase()
    {
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/private", slug = UniqueSlug() });
        for (var i = 0; i < 3; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/" + link.Slug);
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", FromOneAddress.Visitor);
            request.Headers.TryAddWithoutValidation("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0.0.0 Safari/537.36");
            Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().SendAsync(request)).StatusCode);
        }

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        var stats = await (await api.GetAsync($"/api/v1/links/{link.Id}/stats")).ReadAsync<StatsResponse>();
        Assert.Equal(3, stats.Total);
        Assert.Equal(1, stats.UniqueVisitors); // the address was seen and used, only as a salted hash

        var stored = await EverythingStoredAsync();
        Assert.Contains(link.Slug, stored, StringComparison.Ordinal); // the dump does hold what was written
        Assert.DoesNotContain(FromOneAddress.Visitor, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(FromOneAddress.Proxy, stored, StringComparison.Ordinal);
    }

    /// <summary>The SQLite files byte for byte (free pages and the WAL too); on PostgreSQL every row of every table as text.</summary>
    private async Task<string> EverythingStoredAsync()
    {
        var database = tern.Get<Database>();
        if (database is SqliteDatabase sqlite)
        {
            var text = new StringBuilder();
            foreach (var file in new[] { sqlite.Path, sqlite.Path + "-wal" }.Where(File.Exists))
            {
                await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, Encoding.Latin1);
                text.Append(await reader.ReadToEndAsync());
            }

            return text.ToString();
        }

        await using var connection = await database.OpenAsync(CancellationToken.None);
        var tables = await connection.QueryAsync<string>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            foreach (var row in await connection.QueryAsync<string>($"SELECT t::text FROM \"{table}\" t"))
            {
                dump.AppendLine(row);
            }
        }

        return dump.ToString();
    }
}

public sealed class RawAddressTestsOnSqlite(AddressedTern tern) : RawAddressTests(tern), IClassFixture<AddressedTern>;

public sealed class RawAddressTestsOnPostgres(PostgresAddressedTern tern) : RawAddressTests(tern), IClassFixture<PostgresAddressedTern>;
