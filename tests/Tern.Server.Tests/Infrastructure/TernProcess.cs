using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>
/// Tern as users run it: the built server in its own process on a free loopback port, its standard output
/// captured. Stopped with SIGTERM like a service manager would.
/// </summary>
public sealed class TernProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TernProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static Task<TernProcess> StartAsync(string dataDir, IDictionary<string, string>? environment = null, params string[] arguments) =>
        StartInAsync(ServerDirectory, ServerDirectory, environment, [$"--Tern:DataDir={dataDir}", .. arguments]);

    /// <summary>
    /// The server whose files are in <paramref name="serverDirectory"/> (the build output or a copy of it, as a publish
    /// would leave it), started from <paramref name="workingDirectory"/> with no data folder given.
    /// </summary>
    public static Task<TernProcess> StartInAsync(string workingDirectory, string serverDirectory, IDictionary<string, string>? environment = null, params string[] arguments) =>
        StartCoreAsync(workingDirectory, [Path.Combine(serverDirectory, "Tern.Server.dll"), .. arguments], environment);

    /// <summary><c>dotnet run --project src/Tern.Server</c> (already built) called from <paramref name="workingDirectory"/>.</summary>
    public static Task<TernProcess> DotnetRunAsync(string workingDirectory)
    {
        var project = Path.Combine(TestData.RepositoryRoot, "src", "Tern.Server");
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        return StartCoreAsync(workingDirectory, ["run", "--no-build", "-c", configuration, "--project", project, "--"], environment: null);
    }

    private static async Task<TernProcess> StartCoreAsync(string workingDirectory, IEnumerable<string> arguments, IDictionary<string, string>? environment)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments.Concat(["--urls", $"http://127.0.0.1:{port}"]))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var tern = new TernProcess(new Process { StartInfo = start, EnableRaisingEvents = true }, port);
        tern._process.OutputDataReceived += (_, e) => tern.Append(e.Data);
        tern._process.ErrorDataReceived += (_, e) => tern.Append(e.Data);
        tern._process.Exited += (_, _) => tern._listening.TrySetException(new InvalidOperationException("Tern exited:\n" + tern.Output));
        tern._process.Start();
        tern._process.BeginOutputReadLine();
        tern._process.BeginErrorReadLine();
        await tern._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return tern;
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return _process.ExitCode;
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains("Now listening on", StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The folder of the server built beside this test assembly (same configuration).</summary>
    public static string ServerDirectory { get; } = FindServer();

    private static string FindServer()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory); // tests/Tern.Server.Tests/bin/<Configuration>/net10.0/
        var configuration = testBin.Parent!.Name;
        var folder = Path.Combine(TestData.RepositoryRoot, "src", "Tern.Server", "bin", configuration, testBin.Name);
        return File.Exists(Path.Combine(folder, "Tern.Server.dll")) ? folder : throw new FileNotFoundException("Build Tern.Server first.", folder);
    }
}
