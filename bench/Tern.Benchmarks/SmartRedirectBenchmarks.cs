using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Tern.Server.Redirect;

namespace Tern.Benchmarks;

/// <summary>
/// The redirect decision of a smart link (ten targeting rules, all tried and none met, then two A/B variants) against
/// a plain link, through the server's <see cref="Redirector"/> fast path on one reused context, as
/// <see cref="RedirectorBenchmarks"/> does. The request carries what a browser sends: User-Agent, Accept-Language.
/// </summary>
[MemoryDiagnoser]
public class SmartRedirectBenchmarks
{
    private TernHost _host = null!;
    private Redirector _redirector = null!;
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _host = TernHost.Start(1_000);
        _host.MakeSmart(43, 1);
        _host.DrainClicks();
        _redirector = _host.Get<Redirector>();
        _context = new DefaultHttpContext { RequestServices = _host.App.Services };
        _context.Request.Method = HttpMethods.Get;
        _context.Request.Scheme = "http";
        _context.Request.Host = new HostString("127.0.0.1:5080");
        _context.Request.Headers.UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        _context.Request.Headers.AcceptLanguage = "en-US,en;q=0.9";
        _context.Connection.RemoteIpAddress = System.Net.IPAddress.Parse("203.0.113.9");
        foreach (var path in new[] { "/b42", "/b43" })
        {
            Request(path);
            _redirector.HandleAsync(_context).GetAwaiter().GetResult();
        }

        if (_context.Response.Headers.Location.ToString() is not ("https://example.com/a" or "https://example.com/b"))
        {
            throw new InvalidOperationException($"Unexpected answer {_context.Response.StatusCode} {_context.Response.Headers.Location}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    [Benchmark(Baseline = true)]
    public Task? Plain_link()
    {
        Request("/b42");
        return _redirector.TryServeCached(_context);
    }

    [Benchmark]
    public Task? Ten_rules_two_variants()
    {
        Request("/b43");
        return _redirector.TryServeCached(_context);
    }

    [Benchmark]
    public Task? Plain_link_forwarded_query()
    {
        Request("/b42", "?ref=x");
        return _redirector.TryServeCached(_context);
    }

    [Benchmark]
    public Task? Ten_rules_two_variants_forwarded_query()
    {
        Request("/b43", "?ref=x");
        return _redirector.TryServeCached(_context);
    }

    private void Request(string path, string query = "")
    {
        _context.Request.Path = new PathString(path);
        _context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);
        _context.Response.StatusCode = 200;
    }
}
