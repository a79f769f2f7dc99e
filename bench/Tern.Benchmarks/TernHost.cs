using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Tern.Server.Access;
using Tern.Server.Clicks;
using Tern.Server.Hosting;

namespace Tern.Benchmarks;

/// <summary>
/// Tern as the server composes it (<c>AddTern</c>, its own DI container, migrations, hosted services) on a
/// SQLite file in a temporary folder, started on a <see cref="DrivingServer"/> instead of Kestrel. Benchmarks
/// take their objects from its container, so they always get the real dependencies. The links are those of the
/// HTTP benchmark: slug <c>b{i}</c> → <c>https://example.com/p/{i}?member=usr_{i}</c> on domain 127.0.0.1.
/// </summary>
public sealed class TernHost : IDisposable
{
    public const string Domain = "127.0.0.1";
    public const string BaseUrl = "http://127.0.0.1:5080";

    private readonly CancellationTokenSource _stop = new();
    private Task? _drain;

    private TernHost(string folder, WebApplication app)
    {
        Folder = folder;
        App = app;
        Server = (DrivingServer)app.Services.GetRequiredService<IServer>();
    }

    public string Folder { get; }

    public string DatabasePath => Path.Combine(Folder, "tern.db");

    public WebApplication App { get; }

    public DrivingServer Server { get; }

    public static string Slug(int i) => string.Create(CultureInfo.InvariantCulture, $"b{i}");

    public static string Url(int i) => string.Create(CultureInfo.InvariantCulture, $"https://example.com/p/{i}?member=usr_{i}");

    /// <summary>
    /// Builds and starts Tern with <paramref name="links"/> links stored. <paramref name="pipeline"/> defaults to
    /// <c>MapTern</c>; <paramref name="services"/> may change Tern's registrations before the container is built.
    /// </summary>
    public static TernHost Start(int links, Action<WebApplication>? pipeline = null, Action<IServiceCollection>? services = null)
    {
        var folder = Directory.CreateTempSubdirectory("tern-bench-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = folder,
            Args =
            [
                $"--Tern:DataDir={folder}",
                $"--Tern:BaseUrl={BaseUrl}",
                "--Tern:AdminKey=tern_bench0000000000000000000000000",
                "--Tern:RateLimit:Enabled=false",
                "--Logging:LogLevel:Default=Warning",
            ],
        });
        builder.AddTern();
        services?.Invoke(builder.Services);
        builder.Services.AddSingleton<IServer, DrivingServer>();
        var app = builder.Build();
        (pipeline ?? (a => a.MapTern()))(app);
        app.StartAsync().GetAwaiter().GetResult();
        var host = new TernHost(folder, app);
        host.InsertLinks(1, links);
        return host;
    }

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>
    /// Reads and drops clicks from the click queue on a background task, next to (and much faster than) the
    /// server's click writer, so that a benchmark loop running far above the writer's pace measures the redirect
    /// path instead of waiting for room in the queue. What writing clicks costs is measured by run-redirect.sh.
    /// </summary>
    public void DrainClicks()
    {
        var reader = Get<ClickQueue>().Reader;
        _drain = Task.Run(async () =>
        {
            try
            {
                while (await reader.WaitToReadAsync(_stop.Token))
                {
                    while (reader.TryRead(out _))
                    {
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    /// <summary>Writes links straight into the SQLite file, as <c>bench/run-memory.sh</c> does.</summary>
    public void InsertLinks(int first, int count)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var insert = connection.CreateCommand();
        insert.CommandText =
            "INSERT INTO links (id, workspace_id, domain, slug, base_url, url, created_at, updated_at) " +
            "VALUES ($id, $workspace, $domain, $slug, $url, $url, $now, $now)";
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        insert.Parameters.AddWithValue("$workspace", AccessStore.DefaultWorkspaceId);
        insert.Parameters.AddWithValue("$domain", Domain);
        var slug = insert.Parameters.Add("$slug", SqliteType.Text);
        var url = insert.Parameters.Add("$url", SqliteType.Text);
        insert.Parameters.AddWithValue("$now", now);
        for (var i = first; i < first + count; i++)
        {
            id.Value = Ids.New("lnk", now);
            slug.Value = Slug(i);
            url.Value = Url(i);
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Ten targeting rules none of which a desktop visitor without a country meets (so every one is tried: the
    /// worst case), then two A/B variants, as a smart link's columns hold them.
    /// </summary>
    public const string TenRules =
        """[{"when":{"device":["mobile"]},"url":"https://example.com/m"},{"when":{"os":["iOS"]},"url":"https://example.com/ios"},""" +
        """{"when":{"os":["Android"]},"url":"https://example.com/android"},{"when":{"country":["DE","AT","CH"]},"url":"https://example.com/dach"},""" +
        """{"when":{"country":["FR"]},"url":"https://example.com/fr"},{"when":{"language":["de"]},"url":"https://example.com/de"},""" +
        """{"when":{"language":["ja","ko"]},"url":"https://example.com/asia"},{"when":{"query":{"src":"mail"}},"url":"https://example.com/mail"},""" +
        """{"when":{"after":"2099-01-01T00:00:00Z"},"url":"https://example.com/later"},{"when":{"device":["tablet"],"os":["iOS"]},"url":"https://example.com/ipad"}]""";

    public const string TwoVariants = """[{"url":"https://example.com/a","weight":50},{"url":"https://example.com/b","weight":50}]""";

    /// <summary>Gives the links <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1 ten rules and two variants.</summary>
    public void MakeSmart(int first, int count)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        connection.Open();
        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE links SET rules = $rules, variants = $variants WHERE slug = $slug";
        update.Parameters.AddWithValue("$rules", TenRules);
        update.Parameters.AddWithValue("$variants", TwoVariants);
        var slug = update.Parameters.Add("$slug", SqliteType.Text);
        for (var i = first; i < first + count; i++)
        {
            slug.Value = Slug(i);
            update.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _drain?.GetAwaiter().GetResult();
        _stop.Dispose();
        App.StopAsync().GetAwaiter().GetResult();
        ((IDisposable)App).Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Something still holds a file: the temporary folder stays behind.
        }
    }
}

/// <summary>
/// An <see cref="IServer"/> with no sockets: it keeps the application the host starts and runs one request
/// (<c>GET /b42</c>, Host 127.0.0.1:5080) through it on demand, the way Kestrel's connection loop does: the host
/// context and the feature collection are reused (<see cref="IHostContextContainer{TContext}"/>), the features the
/// application added during the previous request are dropped, <c>OnStarting</c> callbacks run when the response
/// starts and <c>OnCompleted</c> ones (which dispose the request's service scope) after it, then the context is
/// disposed. What Kestrel itself allocates per request (strings of the request line and headers, its callback
/// lists) is not in here; bench/run-redirect.sh measures the whole server for that.
/// </summary>
public sealed class DrivingServer : IServer
{
    private static readonly Type[] ServerFeatures = [typeof(IHttpRequestFeature), typeof(IHttpResponseFeature), typeof(IHttpResponseBodyFeature)];
    private readonly List<Type> _added = [];
    private int _requests;
    private Func<Task>? _process;
    private IFeatureCollection? _features;

    public IFeatureCollection Features { get; } = new FeatureCollection();

    public ReusableResponseFeature Response { get; } = new();

    public Task ProcessAsync()
    {
        Response.Reset();
        DropApplicationFeatures();
        return _process!();
    }

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull
    {
        var features = new ReusedFeatures<TContext>();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "http",
            Method = HttpMethods.Get,
            PathBase = "",
            Path = "/b42",
            QueryString = "",
            RawTarget = "/b42",
            Headers = new HeaderDictionary { ["Host"] = "127.0.0.1:5080" },
        });
        features.Set<IHttpResponseFeature>(Response);
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        _features = features;
        _process = async () =>
        {
            var context = application.CreateContext(features);
            Exception? failure = null;
            try
            {
                await application.ProcessRequestAsync(context);
                await Response.StartAsync();
            }
            catch (Exception exception)
            {
                failure = exception;
            }

            await Response.CompleteAsync();
            application.DisposeContext(context, failure);
            if (failure is not null)
            {
                throw new InvalidOperationException("The request failed.", failure);
            }
        };
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
    }

    // Kestrel resets its per-request features; a plain FeatureCollection would keep e.g. the previous request's
    // service scope. Which types to drop is learnt on the first requests (finding them allocates).
    private void DropApplicationFeatures()
    {
        if (_features is null)
        {
            return;
        }

        if (_requests++ < 2)
        {
            _added.Clear();
            _added.AddRange(_features.Select(f => f.Key).Where(t => !ServerFeatures.Contains(t)));
        }

        foreach (var type in _added)
        {
            _features[type] = null;
        }
    }

    private sealed class ReusedFeatures<TContext> : FeatureCollection, IHostContextContainer<TContext>
        where TContext : notnull
    {
        public TContext? HostContext { get; set; }
    }
}

/// <summary>
/// A response feature whose headers and callback lists are cleared, not reallocated, between requests, and
/// which runs <c>OnStarting</c> and <c>OnCompleted</c> callbacks (most recent first) as a server does.
/// </summary>
public sealed class ReusableResponseFeature : IHttpResponseFeature
{
    private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];
    private readonly List<(Func<object, Task> Callback, object State)> _onCompleted = [];

    public int StatusCode { get; set; } = 200;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

    [Obsolete("Use IHttpResponseBodyFeature.Stream instead.")]
    public Stream Body { get; set; } = Stream.Null;

    public bool HasStarted { get; private set; }

    public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add((callback, state));

    public void OnCompleted(Func<object, Task> callback, object state) => _onCompleted.Add((callback, state));

    public void Reset()
    {
        StatusCode = 200;
        ReasonPhrase = null;
        Headers.Clear();
        HasStarted = false;
        _onStarting.Clear();
        _onCompleted.Clear();
    }

    public async Task StartAsync()
    {
        for (var i = _onStarting.Count - 1; i >= 0; i--)
        {
            await _onStarting[i].Callback(_onStarting[i].State);
        }

        HasStarted = true;
    }

    public async Task CompleteAsync()
    {
        for (var i = _onCompleted.Count - 1; i >= 0; i--)
        {
            await _onCompleted[i].Callback(_onCompleted[i].State);
        }
    }
}
