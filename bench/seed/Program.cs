using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

// Seeds and warms a running Tern for the redirect benchmark.
//
//   seed  --base http://127.0.0.1:5080 --key tern_... --count 100000 [--start 1] [--concurrency 32]
//         POST /api/v1/links {"url":"https://example.com/p/<i>?member=usr_<i>","slug":"b<i>"} for i in [start, start+count)
//         --smart: every link also carries ten targeting rules that a benchmark request never matches (so each is
//         evaluated) and two A/B variants (50/50) that decide its destination
//   warm  --base http://127.0.0.1:5080 --count 100000 [--start 1] [--concurrency 64]
//         GET /b<i> once for every i, so that every link is loaded into the redirect cache; counts the statuses.
//
// Exit code 0 only when every request answered as expected (201/200 for seed, 302 for warm).
var command = args.Length > 0 ? args[0] : "";
var options = Options.Parse(args.Skip(1).ToArray());
if (command is not ("seed" or "warm") || options.BaseUrl is null || (command == "seed" && options.Key is null))
{
    await Console.Error.WriteLineAsync("usage: Tern.Bench.Seed seed --base URL --key KEY --count N [--start 1] [--concurrency 32]");
    await Console.Error.WriteLineAsync("       Tern.Bench.Seed warm --base URL --count N [--start 1] [--concurrency 64]");
    return 2;
}

using var handler = new SocketsHttpHandler
{
    AllowAutoRedirect = false,
    UseProxy = false,
    UseCookies = false,
    MaxConnectionsPerServer = options.Concurrency,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
};
using var client = new HttpClient(handler) { BaseAddress = new Uri(options.BaseUrl), Timeout = TimeSpan.FromSeconds(60) };
if (options.Key is not null)
{
    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Key);
}

var statuses = new int[600];
var failures = 0;
var done = 0;
var clock = Stopwatch.StartNew();
var lastReport = 0L;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

await Parallel.ForAsync(options.Start, options.Start + options.Count,
    new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancel.Token },
    async (i, ct) =>
    {
        var status = command == "seed" ? await CreateAsync(client, i, options.Smart, ct) : await FollowAsync(client, i, ct);
        Interlocked.Increment(ref statuses[Math.Clamp(status, 0, statuses.Length - 1)]);
        var expected = command == "seed" ? status is 200 or 201 : status == 302;
        if (!expected && Interlocked.Increment(ref failures) <= 5)
        {
            await Console.Error.WriteLineAsync($"{command} b{i}: HTTP {status}");
        }

        var n = Interlocked.Increment(ref done);
        var elapsed = clock.ElapsedMilliseconds;
        var previous = Interlocked.Read(ref lastReport);
        if (elapsed - previous >= 5000 && Interlocked.CompareExchange(ref lastReport, elapsed, previous) == previous)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{command}: {n}/{options.Count} after {elapsed / 1000.0:F1} s ({n / (elapsed / 1000.0):F0}/s)"));
        }
    });

var seconds = clock.Elapsed.TotalSeconds;
var summary = string.Join(' ', statuses.Select((count, status) => (count, status)).Where(s => s.count > 0)
    .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.status}={s.count}")));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{command}: {done} requests in {seconds:F1} s = {done / seconds:F0}/s; statuses {summary}; unexpected {failures}"));
return failures == 0 ? 0 : 1;

static async Task<int> CreateAsync(HttpClient client, int i, bool smart, CancellationToken cancellationToken)
{
    var body = string.Create(CultureInfo.InvariantCulture, $$"""{"url":"https://example.com/p/{{i}}?member=usr_{{i}}","slug":"b{{i}}"{{(smart ? SmartFields(i) : "")}}}""");
    for (var attempt = 0; ; attempt++)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        try
        {
            using var response = await client.PostAsync(new Uri("/api/v1/links", UriKind.Relative), content, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is 429 or 503 && attempt < 10)
            {
                await Task.Delay(200 * (attempt + 1), cancellationToken);
                continue;
            }

            return status;
        }
        catch (HttpRequestException) when (attempt < 3)
        {
            await Task.Delay(200, cancellationToken);
        }
    }
}

// Ten rules of every kind that wrk's requests (no country, no language, wrk's User-Agent, no query) never match, then two variants.
static string SmartFields(int i)
{
    string[] conditions =
    [
        """{"device":["mobile"]}""", """{"os":["iOS"]}""", """{"country":["DE","AT","CH"]}""", """{"language":["de"]}""",
        """{"query":{"ref":"newsletter"}}""", """{"device":["tablet"],"os":["Android"]}""", """{"country":["FR"],"language":["fr"]}""",
        """{"before":"2000-01-01T00:00:00Z"}""", """{"after":"2999-01-01T00:00:00Z"}""", """{"os":["Android"],"query":{"app":"1"}}""",
    ];
    var rules = string.Join(',', conditions.Select((when, r) =>
        string.Create(CultureInfo.InvariantCulture, $$"""{"when":{{when}},"url":"https://example.com/r{{r}}/{{i}}"}""")));
    return string.Create(CultureInfo.InvariantCulture,
        $$""","rules":[{{rules}}],"variants":[{"url":"https://example.com/a/{{i}}","weight":50},{"url":"https://example.com/b/{{i}}","weight":50}]""");
}

static async Task<int> FollowAsync(HttpClient client, int i, CancellationToken cancellationToken)
{
    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(string.Create(CultureInfo.InvariantCulture, $"/b{i}"), UriKind.Relative));
    try
    {
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return (int)response.StatusCode;
    }
    catch (HttpRequestException)
    {
        return 0;
    }
}

internal sealed record Options(string? BaseUrl, string? Key, int Start, int Count, int Concurrency, bool Smart)
{
    public static Options Parse(string[] args)
    {
        string? Value(string name)
        {
            var index = Array.IndexOf(args, name);
            return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
        }

        int Number(string name, int fallback) =>
            Value(name) is { } text ? int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture) : fallback;

        var count = Number("--count", 100_000);
        return new Options(Value("--base"), Value("--key") ?? Environment.GetEnvironmentVariable("TERN_BENCH_KEY"),
            Number("--start", 1), count, Math.Max(1, Number("--concurrency", 32)), args.Contains("--smart"));
    }
}
