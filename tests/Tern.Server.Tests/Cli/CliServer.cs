using System.Text;
using Tern.Cli;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Cli;

/// <summary>What a run of <c>tern</c> printed and how it exited.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>A writer that hands every finished line to a callback, so a test can await what the CLI prints.</summary>
public sealed class LineWriter(Action<string>? onLine) : StringWriter(System.Globalization.CultureInfo.InvariantCulture)
{
    private readonly object _gate = new();

    public override void Write(char value)
    {
        lock (_gate)
        {
            base.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_gate)
        {
            base.Write(value);
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_gate)
        {
            base.WriteLine(value);
        }

        onLine?.Invoke(value ?? "");
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        return Task.CompletedTask;
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return base.ToString();
        }
    }
}

/// <summary>
/// Tern as users run it (the built server in its own process, on a loopback port), and the <c>tern</c> entry point run
/// in-process against it over HTTP with TERN_URL and TERN_API_KEY set.
/// </summary>
public sealed class CliServer : IAsyncLifetime
{
    public const string Key = "tern_CliTestKey000000000000000000000";

    private readonly string _dataDir = Directory.CreateTempSubdirectory("tern-cli-").FullName;

    public TernProcess Tern { get; private set; } = null!;

    /// <summary>A folder for the files a test writes (CSV files, results, state, config).</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("tern-cli-files-").FullName;

    public async ValueTask InitializeAsync() =>
        Tern = await TernProcess.StartAsync(_dataDir, null,
            $"--Tern:AdminKey={Key}", "--Tern:Webhooks:AllowPrivateNetworks=true", "--Tern:Webhooks:RetryDelaysSeconds=1,1",
            "--Tern:RateLimit:Burst=100000", "--Tern:RateLimit:PerSecond=100000", "--Tern:Clicks:BatchWindowMilliseconds=0", "--Tern:Clicks:RollupIntervalMilliseconds=0",
            "--Logging:LogLevel:Default=Warning");

    public async ValueTask DisposeAsync()
    {
        await Tern.DisposeAsync();
        foreach (var folder in new[] { _dataDir, Folder })
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public string PathOf(string name) => Path.Combine(Folder, name);

    /// <summary>Runs <c>tern ARGS</c> with TERN_URL and TERN_API_KEY pointing at the server (override them through <paramref name="environment"/>).</summary>
    public async Task<CliResult> RunAsync(string[] args, IDictionary<string, string?>? environment = null,
        Action<string>? onOut = null, Action<string>? onError = null, CancellationToken cancellationToken = default, string? configPath = null)
    {
        var variables = new Dictionary<string, string?> { ["TERN_URL"] = Tern.BaseUrl, ["TERN_API_KEY"] = Key };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[name] = value;
        }

        using var output = new LineWriter(onOut);
        using var error = new LineWriter(onError);
        var context = CliContext.Plain(output, error, name => variables.GetValueOrDefault(name), configPath ?? PathOf("no-config.json"));
        var exit = await TernCli.RunAsync(args, context, cancellationToken);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public Task<CliResult> RunAsync(params string[] args) => RunAsync(args, environment: null);

    /// <summary>A CSV of <paramref name="count"/> links with slugs, all tagged <paramref name="tag"/>.</summary>
    public string WriteLinksCsv(string name, string tag, int count)
    {
        var csv = new StringBuilder("url,slug,title,tags\n");
        for (var i = 0; i < count; i++)
        {
            csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"https://example.com/{tag}/{i},{tag}-{i},\"Item {i}, of {count}\",{tag}|imported\n");
        }

        var path = PathOf(name);
        File.WriteAllText(path, csv.ToString());
        return path;
    }
}
