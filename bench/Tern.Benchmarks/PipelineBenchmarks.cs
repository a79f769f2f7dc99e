using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tern.Server.Hosting;

namespace Tern.Benchmarks;

/// <summary>What answers the request, and what goes around it.</summary>
public enum Pipeline
{
    /// <summary>A bare ASP.NET Core host (no Tern) whose only middleware does nothing: the floor of this harness.</summary>
    Floor,
    /// <summary>Tern as it ships: <c>AddTern</c> and <c>MapTern</c>.</summary>
    Tern,
}

/// <summary>
/// One cached redirect (<c>GET /b42</c>) through a whole ASP.NET Core application, without sockets, driven the
/// way Kestrel drives it (see <see cref="DrivingServer"/>). The differences between <see cref="Pipeline"/> values
/// are what each layer costs per redirect. <see cref="HostingLogs"/> = false turns off the
/// <c>Microsoft.AspNetCore.Hosting.Diagnostics</c> logger, which otherwise makes the host start an
/// <c>Activity</c> and a logging scope for every request. Clicks are drained by the harness
/// (<see cref="TernHost.DrainClicks"/>), not written.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private TernHost? _host;
    private WebApplication? _bare;
    private string? _bareFolder;
    private DrivingServer _server = null!;

    [Params(Pipeline.Floor, Pipeline.Tern)]
    public Pipeline Pipeline { get; set; }

    [Params(true, false)]
    public bool HostingLogs { get; set; } = true;

    [GlobalSetup]
    public void Setup()
    {
        var quietHosting = (IServiceCollection services) =>
        {
            if (!HostingLogs)
            {
                services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None));
            }
        };
        if (Pipeline == Pipeline.Floor)
        {
            // An empty content root: the output folder holds Tern.Server's appsettings.json.
            _bareFolder = Directory.CreateTempSubdirectory("tern-bench-floor-").FullName;
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions
            {
                ContentRootPath = _bareFolder,
                Args = ["--Logging:LogLevel:Default=Warning"],
            });
            quietHosting(builder.Services);
            builder.Services.AddSingleton<IServer, DrivingServer>();
            _bare = builder.Build();
            _bare.Run(_ => Task.CompletedTask);
            _bare.StartAsync().GetAwaiter().GetResult();
            _server = (DrivingServer)_bare.Services.GetRequiredService<IServer>();
        }
        else
        {
            _host = TernHost.Start(1_000, app => app.MapTern(), quietHosting);
            _server = _host.Server;
            _host.DrainClicks();
        }

        _server.ProcessAsync().GetAwaiter().GetResult(); // loads b42 into the cache
        _server.ProcessAsync().GetAwaiter().GetResult();
        var expected = Pipeline == Pipeline.Floor ? 200 : 302;
        if (_server.Response.StatusCode != expected)
        {
            throw new InvalidOperationException($"{Pipeline}: answered {_server.Response.StatusCode}, expected {expected}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host?.Dispose();
        if (_bare is not null)
        {
            _bare.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)_bare).Dispose();
            Directory.Delete(_bareFolder!, recursive: true);
        }
    }

    [Benchmark]
    public Task Redirect_cached_link() => _server.ProcessAsync();
}
