using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>
/// Tern in-process on a real database. The SQLite flavour uses a fresh file in a temporary folder; other
/// storage backends subclass <see cref="StorageBackend"/> and pass it in.
/// </summary>
public class TernFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string AdminKey = "tern_TestAdminKey0000000000000000000";
    public const string BaseUrl = "http://go.test";

    private readonly StorageBackend _storage;

    public TernFactory() : this(new SqliteBackend())
    {
    }

    protected TernFactory(StorageBackend storage) => _storage = storage;

    /// <summary>Set to control time (link expiry); null keeps the system clock.</summary>
    public FakeTimeProvider? Clock { get; protected init; }

    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public StorageBackend Storage => _storage;

    public virtual async ValueTask InitializeAsync()
    {
        await _storage.InitializeAsync();
        _ = Services; // starts the host: migrations and bootstrap run now
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _storage.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Tern:AdminKey", AdminKey);
        builder.UseSetting("Tern:BaseUrl", BaseUrl);
        builder.UseSetting("Tern:Domains:0", "brand.test");
        builder.UseSetting("Tern:RateLimit:Burst", "100000");
        builder.UseSetting("Tern:RateLimit:PerSecond", "100000");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        foreach (var (key, value) in _storage.Settings.Concat(Settings))
        {
            builder.UseSetting(key, value);
        }

        if (Clock is not null)
        {
            builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Clock));
        }
    }

    /// <summary>A client that sends the key and does not follow redirects.</summary>
    public HttpClient Api(string? key = AdminKey)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri(BaseUrl) });
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>A visitor: no key, no redirect following, any host.</summary>
    public HttpClient Visitor(string host = "go.test") =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri($"http://{host}") });

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();
}

/// <summary>Where a test server keeps its data, with the settings that point Tern at it.</summary>
public abstract class StorageBackend : IAsyncDisposable
{
    public abstract string Name { get; }

    public abstract IEnumerable<KeyValuePair<string, string?>> Settings { get; }

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public abstract ValueTask DisposeAsync();
}

public sealed class SqliteBackend : StorageBackend
{
    public string DataDir { get; } = Directory.CreateTempSubdirectory("tern-test-").FullName;

    /// <summary>The database file a server on this backend uses, opened directly.</summary>
    public Tern.Server.Storage.Sqlite.SqliteDatabase NewDatabase() => new(Path.Combine(DataDir, "tern.db"));

    public override string Name => "sqlite";

    public override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:Database:Provider", "sqlite"),
        new("Tern:DataDir", DataDir),
    ];

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }
}
