using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tern.Server.Hosting;

namespace Tern.Bench;

/// <summary>Which storage a <see cref="BenchHost"/> runs on: SQLite in a temporary folder, or a fresh PostgreSQL database.</summary>
public sealed record Backend(string Name, string? PostgresConnectionString)
{
    public static readonly Backend Sqlite = new("SQLite", null);

    public static Backend Postgres(string connectionString) => new("PostgreSQL", connectionString);

    public bool IsPostgres => PostgresConnectionString is not null;
}

/// <summary>
/// Tern hosted in this process exactly as <c>Program.cs</c> composes it (<c>WebApplication.CreateBuilder</c>,
/// <c>AddTern</c>, <c>MapTern</c>) on Kestrel at 127.0.0.1 on a free port, with the benchmark's settings and a
/// throwaway data folder (and, on PostgreSQL, a throwaway database that is dropped afterwards).
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    public const string AdminKey = "tern_bench0000000000000000000000000";
    public const string CountryHeader = "CF-IPCountry";

    private static int _databases;
    private readonly string? _adminConnectionString;
    private readonly string? _databaseName;
    private bool _handedOver;
    private bool _disposed;

    private BenchHost(WebApplication app, string folder, int port, string? adminConnectionString, string? databaseName)
    {
        App = app;
        Folder = folder;
        Port = port;
        _adminConnectionString = adminConnectionString;
        _databaseName = databaseName;
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, UseProxy = false })
        {
            BaseAddress = new Uri(BaseUrl),
            Timeout = TimeSpan.FromSeconds(120),
        };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
    }

    public WebApplication App { get; }

    public string Folder { get; }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>A client for the API (Bearer admin key, redirects not followed).</summary>
    public HttpClient Http { get; }

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static async Task<BenchHost> StartAsync(Backend backend, IEnumerable<string>? settings = null)
    {
        var folder = Directory.CreateTempSubdirectory("tern-bench-cw-").FullName;
        string? database = null;
        if (backend.PostgresConnectionString is { } cs)
        {
            database = $"tern_bench_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
            await using var connection = new NpgsqlConnection(cs);
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        return await LaunchAsync(folder, backend.PostgresConnectionString, database, settings);
    }

    /// <summary>
    /// Stops this server and starts another on the same storage (folder, and database on PostgreSQL) with
    /// <paramref name="settings"/>, as a node is restarted with new settings; the new one owns the storage from then on.
    /// </summary>
    public async Task<BenchHost> RestartAsync(IEnumerable<string>? settings = null)
    {
        _handedOver = true;
        await DisposeAsync();
        return await LaunchAsync(Folder, _adminConnectionString, _databaseName, settings);
    }

    private static async Task<BenchHost> LaunchAsync(string folder, string? admin, string? database, IEnumerable<string>? settings)
    {
        var port = FreePort();
        var args = new List<string>
        {
            "--urls", $"http://127.0.0.1:{port}",
            $"--Tern:DataDir={folder}",
            $"--Tern:BaseUrl=http://127.0.0.1:{port}",
            $"--Tern:AdminKey={AdminKey}",
            "--Tern:RateLimit:Enabled=false",
            "--Logging:LogLevel:Default=Warning",
            $"--Tern:Geo:CountryHeader={CountryHeader}",
        };
        if (admin is not null)
        {
            var builder = new NpgsqlConnectionStringBuilder(admin) { Database = database };
            args.Add("--Tern:Database:Provider=postgres");
            args.Add($"--ConnectionStrings:Tern={builder.ConnectionString}");
        }

        args.AddRange(settings ?? []);
        var webBuilder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [.. args], ContentRootPath = folder });
        webBuilder.AddTern();
        var app = webBuilder.Build();
        app.MapTern();
        await app.StartAsync();
        return new BenchHost(app, folder, port, admin, database);
    }

    /// <summary>Bytes of the SQLite files (database and WAL), or of the PostgreSQL database.</summary>
    public async Task<long> StorageBytesAsync()
    {
        if (_databaseName is null)
        {
            return Directory.EnumerateFiles(Folder, "tern.db*").Sum(f => new FileInfo(f).Length);
        }

        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var size = new NpgsqlCommand($"SELECT pg_database_size('{_databaseName}')", connection);
        return (long)(await size.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Http.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromMinutes(5)))
        {
            await App.StopAsync(stop.Token);
        }

        await App.DisposeAsync();
        SqliteConnection.ClearAllPools();
        NpgsqlConnection.ClearAllPools();
        if (_handedOver)
        {
            return;
        }

        if (_databaseName is not null)
        {
            await using var connection = new NpgsqlConnection(_adminConnectionString);
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_databaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }

        if (Environment.GetEnvironmentVariable("TERN_BENCH_KEEP_DATA") == "1")
        {
            Machine.Log($"  data kept in {Folder} (TERN_BENCH_KEEP_DATA=1)");
            return;
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Something still holds a file; the temporary folder stays behind.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
