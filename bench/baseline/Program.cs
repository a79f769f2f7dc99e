using System.Globalization;
using Microsoft.Extensions.Primitives;

// Kestrel floor for the redirect benchmark: GET /b<i> → 302 to https://example.com/p/<i>?member=usr_<i>, with
// Cache-Control: no-store like Tern, from a dictionary of N entries.
//
//   dotnet Tern.Bench.Baseline.dll --urls http://127.0.0.1:5082 --count 100000 --mode middleware|endpoint
//
// "middleware" answers from one terminal middleware (no routing); "endpoint" maps /{slug} through routing the
// way Tern does, which isolates what endpoint routing costs per request.
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
var count = builder.Configuration.GetValue("count", 100_000);
var mode = builder.Configuration.GetValue("mode", "middleware");

var links = new Dictionary<string, string>(count, StringComparer.Ordinal);
for (var i = 1; i <= count; i++)
{
    links[string.Create(CultureInfo.InvariantCulture, $"b{i}")] =
        string.Create(CultureInfo.InvariantCulture, $"https://example.com/p/{i}?member=usr_{i}");
}

var lookup = links.GetAlternateLookup<ReadOnlySpan<char>>();
StringValues noStore = "no-store";

Task Redirect(HttpContext context)
{
    var slug = context.Request.Path.Value.AsSpan(1);
    if (lookup.TryGetValue(slug, out var destination))
    {
        context.Response.StatusCode = StatusCodes.Status302Found;
        context.Response.Headers.CacheControl = noStore;
        context.Response.Headers.Location = destination;
    }
    else
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
    }

    return Task.CompletedTask;
}

var app = builder.Build();
if (mode == "endpoint")
{
    app.MapMethods("/{slug}", [HttpMethods.Get, HttpMethods.Head], (RequestDelegate)Redirect);
}
else
{
    // No endpoint at all, so WebApplication adds no routing middleware either.
    app.Run(Redirect);
}

app.Run();
