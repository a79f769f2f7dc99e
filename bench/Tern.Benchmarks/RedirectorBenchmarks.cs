using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Tern.Server.Redirect;

namespace Tern.Benchmarks;

/// <summary>
/// The server's <see cref="Redirector"/> alone (from Tern's container), on one reused <see cref="DefaultHttpContext"/>
/// as Kestrel reuses its contexts: no middleware, no routing, no Kestrel. A counted click goes into the real click
/// queue, which the harness drains (<see cref="TernHost.DrainClicks"/>) so that the loop is not held up by the writer.
/// </summary>
[MemoryDiagnoser]
public class RedirectorBenchmarks
{
    private TernHost _host = null!;
    private Redirector _redirector = null!;
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _host = TernHost.Start(1_000);
        _host.DrainClicks();
        _redirector = _host.Get<Redirector>();
        _context = new DefaultHttpContext { RequestServices = _host.App.Services };
        _context.Request.Method = HttpMethods.Get;
        _context.Request.Scheme = "http";
        _context.Request.Host = new HostString("127.0.0.1:5080");

        // Load the link the benchmarks ask for, and let the cache remember one unknown slug.
        foreach (var path in new[] { "/b42", "/nope", "/b42" })
        {
            Request(path);
            _redirector.HandleAsync(_context).GetAwaiter().GetResult();
        }

        if (_context.Response.StatusCode != 302 || _context.Response.Headers.Location != TernHost.Url(42))
        {
            throw new InvalidOperationException($"Unexpected answer {_context.Response.StatusCode} {_context.Response.Headers.Location}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    /// <summary>The fast path the server runs first in its pipeline.</summary>
    [Benchmark(Baseline = true)]
    public Task? TryServeCached_cached_link()
    {
        Request("/b42");
        return _redirector.TryServeCached(_context);
    }

    /// <summary>The endpoint, for the same cached link.</summary>
    [Benchmark]
    public Task HandleAsync_cached_link()
    {
        Request("/b42");
        return _redirector.HandleAsync(_context);
    }

    /// <summary>The short URL's own query is forwarded: the Location string is built per request.</summary>
    [Benchmark]
    public Task? TryServeCached_forwarded_query()
    {
        Request("/b42", "?utm_source=x");
        return _redirector.TryServeCached(_context);
    }

    [Benchmark]
    public Task HandleAsync_known_missing_404()
    {
        Request("/nope");
        return _redirector.HandleAsync(_context);
    }

    [Benchmark]
    public Task HandleAsync_malformed_404()
    {
        Request("/wp-login.php");
        return _redirector.HandleAsync(_context);
    }

    private void Request(string path, string query = "")
    {
        _context.Request.Path = new PathString(path);
        _context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);
        _context.Response.StatusCode = 200;
    }
}
