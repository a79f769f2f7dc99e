using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Tern.Server.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(PostgresClusterLifetime))]

namespace Tern.Server.Tests.Infrastructure;

/// <summary>Tern in-process on its own database in the throwaway PostgreSQL cluster.</summary>
public class PostgresTernFactory : TernFactory
{
    public PostgresTernFactory() : base(new PostgresBackend())
    {
    }

    public override async ValueTask InitializeAsync()
    {
        // xunit reports a skip thrown while a class fixture initializes as a failure, so without PostgreSQL the
        // fixture stays empty and each test skips when it first reaches for the server (CreateHostBuilder).
        if (await PostgresCluster.GetAsync() is null)
        {
            return;
        }

        await base.InitializeAsync();
    }

    protected override IHostBuilder? CreateHostBuilder()
    {
        if (PostgresCluster.IsUnavailable)
        {
            PostgresBackend.SkipOrFailForMissingPostgres();
        }

        return base.CreateHostBuilder();
    }
}

/// <summary>
/// A fresh database in the process-wide <see cref="PostgresCluster"/>, dropped on dispose. Without PostgreSQL
/// binaries the test that initializes it is skipped, or fails when <c>TERN_REQUIRE_POSTGRES=1</c> (CI), so that
/// a missing server can never turn the PostgreSQL run green by skipping everything. A class fixture should be a
/// <see cref="PostgresTernFactory"/>, which moves that skip from the fixture into the tests.
/// </summary>
public sealed class PostgresBackend : StorageBackend
{
    private PostgresCluster? _cluster;
    private string? _database;

    public override string Name => "postgres";

    public string ConnectionString => _cluster is { } cluster && _database is { } database
        ? cluster.ConnectionString(database)
        : throw new InvalidOperationException("The PostgreSQL backend is not initialized yet.");

    public override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:Database:Provider", "postgres"),
        new("ConnectionStrings:Tern", ConnectionString),
    ];

    public override async ValueTask InitializeAsync()
    {
        var cluster = await PostgresCluster.GetAsync();
        if (cluster is null)
        {
            SkipOrFailForMissingPostgres();
        }

        _database = await cluster.CreateDatabaseAsync();
        _cluster = cluster;
    }

    /// <summary>Skips the running test, or fails it when <c>TERN_REQUIRE_POSTGRES=1</c>.</summary>
    [DoesNotReturn]
    public static void SkipOrFailForMissingPostgres()
    {
        var message = PostgresCluster.UnavailableReason;
        if (Environment.GetEnvironmentVariable("TERN_REQUIRE_POSTGRES") == "1")
        {
            Assert.Fail(message + " (TERN_REQUIRE_POSTGRES=1)");
        }

        Assert.Skip(message);
        throw new UnreachableException();
    }

    public override async ValueTask DisposeAsync()
    {
        if (_cluster is not null && _database is not null)
        {
            await _cluster.DropDatabaseAsync(_database);
        }
    }
}

/// <summary>Stops the cluster once every test has run; process exit is the fallback.</summary>
public sealed class PostgresClusterLifetime : IDisposable
{
    public void Dispose() => PostgresCluster.Stop();
}

/// <summary>
/// One throwaway PostgreSQL cluster per test process, started on first use: <c>initdb</c> into a temporary
/// folder and <c>pg_ctl start</c> on a free loopback port with durability off (the data dies with the process
/// anyway, and fsync is most of the cost of creating a database per test). PostgreSQL refuses to run as root,
/// so when the tests run as root (CI containers) the server runs as an unprivileged user.
/// </summary>
public sealed class PostgresCluster
{
    public const string Username = "tern";
    private const string FolderPrefix = "tern-pg-";

    private static readonly SemaphoreSlim StartGate = new(1, 1);
    private static readonly Lock StopGate = new();
    private static PostgresCluster? s_current;
    private static string? s_unavailable;
    private static Exception? s_startFailure;

    private readonly string _root;
    private readonly string _binDirectory;
    private readonly Runner _runAs;
    private readonly NpgsqlDataSource _admin;
    private bool _stopped;

    private PostgresCluster(string root, string binDirectory, Runner runAs, int port)
    {
        _root = root;
        _binDirectory = binDirectory;
        _runAs = runAs;
        Port = port;
        _admin = NpgsqlDataSource.Create(ConnectionString("postgres"));
    }

    public int Port { get; }

    /// <summary>True once <see cref="GetAsync"/> found that PostgreSQL cannot run here.</summary>
    public static bool IsUnavailable => s_unavailable is not null;

    /// <summary>Why there is no cluster: no binaries, or no way to drop root.</summary>
    public static string UnavailableReason => s_unavailable ?? "PostgreSQL has not been looked for yet";

    private string DataDirectory => Path.Combine(_root, "data");

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Username,
        Database = database,
        Pooling = true,
    }.ConnectionString;

    /// <summary>The running cluster, started on the first call; null when PostgreSQL is not installed.</summary>
    public static async Task<PostgresCluster?> GetAsync()
    {
        await StartGate.WaitAsync();
        try
        {
            if (s_current is not null || s_unavailable is not null)
            {
                return s_current;
            }

            // A failed start is remembered so that a hundred tests report it without a hundred initdb runs.
            if (s_startFailure is not null)
            {
                throw new InvalidOperationException("The PostgreSQL test cluster failed to start earlier.", s_startFailure);
            }

            if (Locate() is not ({ } binDirectory, { } runAs))
            {
                return null;
            }

            try
            {
                RemoveAbandonedClusters(binDirectory, runAs);
                s_current = await StartAsync(binDirectory, runAs);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();
                return s_current;
            }
            catch (Exception e)
            {
                s_startFailure = e;
                throw;
            }
        }
        finally
        {
            StartGate.Release();
        }
    }

    /// <summary>
    /// A cluster of the caller's own, for tests that stop and start the server (which would disturb every other
    /// test on the shared one); null when PostgreSQL cannot run here. Dispose it to stop it and delete its folder.
    /// </summary>
    public static async Task<DedicatedPostgresCluster?> StartDedicatedAsync()
    {
        await StartGate.WaitAsync();
        (string Bin, Runner RunAs)? located;
        try
        {
            located = s_unavailable is null ? Locate() : null;
        }
        finally
        {
            StartGate.Release();
        }

        if (located is not ({ } binDirectory, { } runAs))
        {
            return null;
        }

        var cluster = await StartAsync(binDirectory, runAs);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.StopAndDelete();
        return new DedicatedPostgresCluster(cluster);
    }

    /// <summary>Fast shutdown (<c>pg_ctl stop -m fast</c>): sessions are told the server is going away, and it is.</summary>
    public void StopServer()
    {
        Run(_runAs, Path.Combine(_binDirectory, "pg_ctl"), ["stop", "-D", DataDirectory, "-m", "fast", "-w"], Path.GetTempPath());
    }

    /// <summary>Starts the stopped server again on the same port.</summary>
    public void StartServer()
    {
        Run(_runAs, Path.Combine(_binDirectory, "pg_ctl"),
            ["start", "-w", "-t", "60", "-D", DataDirectory, "-l", Path.Combine(_root, "postgres.log"), "-o", ServerOptions(Port, Path.Combine(_root, "sockets"))],
            Path.GetTempPath());
    }

    /// <summary>
    /// Freezes the server as a hung host would: SIGSTOP to the postmaster, then to every process it forked (backends,
    /// background workers). Connections stay open and new ones are accepted by the kernel, but nothing answers.
    /// </summary>
    public void Freeze()
    {
        var postmaster = PostmasterPid();
        Signal("STOP", postmaster);
        foreach (var child in ChildrenOf(postmaster))
        {
            Signal("STOP", child);
        }
    }

    /// <summary>SIGCONT to what <see cref="Freeze"/> stopped.</summary>
    public void Thaw()
    {
        var postmaster = PostmasterPid();
        foreach (var child in ChildrenOf(postmaster))
        {
            Signal("CONT", child);
        }

        Signal("CONT", postmaster);
    }

    private int PostmasterPid() =>
        int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    private static IEnumerable<int> ChildrenOf(int parent) =>
        Directory.EnumerateDirectories("/proc")
            .Select(Path.GetFileName)
            .Where(name => int.TryParse(name, CultureInfo.InvariantCulture, out _))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .Where(pid => ParentOf(pid) == parent)
            .ToList();

    private static int? ParentOf(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its closing parenthesis.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null; // the process has gone
        }
    }

    private static void Signal(string signal, int pid) =>
        RunAllowingFailure(Runner.Self, "kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)], "/");

    internal void StopAndDelete()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _admin.Dispose();
        StopServer(_binDirectory, _runAs, DataDirectory);
        DeleteFolder(_root);
    }

    private static (string Bin, Runner RunAs)? Locate()
    {
        var (binDirectory, lookedIn) = FindBinaries();
        if (binDirectory is null)
        {
            s_unavailable = $"PostgreSQL binaries not found (looked in {lookedIn}); install the postgresql package to run these tests";
            return null;
        }

        var runAs = UnprivilegedRunner(out var unavailable);
        if (runAs is null)
        {
            s_unavailable = unavailable;
            return null;
        }

        return (binDirectory, runAs);
    }

    private static string ServerOptions(int port, string sockets) =>
        $"-p {port} -k '{sockets}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " +
        "-c full_page_writes=off -c max_connections=300";

    /// <summary>Stops the cluster, if one was started, and deletes its folder. Safe to call more than once.</summary>
    public static void Stop()
    {
        lock (StopGate)
        {
            if (s_current is not { _stopped: false } cluster)
            {
                return;
            }

            cluster.StopAndDelete();
        }
    }

    public async Task<string> CreateDatabaseAsync()
    {
        var name = "tern_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        await using var command = _admin.CreateCommand($"CREATE DATABASE {name}");
        await command.ExecuteNonQueryAsync();
        return name;
    }

    /// <summary>Drops the database, closing whatever connections a test server's pool still holds on it.</summary>
    public async Task DropDatabaseAsync(string name)
    {
        if (_stopped)
        {
            return;
        }

        await using var command = _admin.CreateCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<PostgresCluster> StartAsync(string binDirectory, Runner runAs)
    {
        var root = Directory.CreateTempSubdirectory(FolderPrefix).FullName;
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var sockets = Directory.CreateDirectory(Path.Combine(root, "sockets")).FullName;
        if (runAs.User is not null)
        {
            Run(Runner.Self, "chown", ["-R", runAs.User, root], root);
        }

        var data = Path.Combine(root, "data");
        Run(runAs, Path.Combine(binDirectory, "initdb"),
            ["-D", data, "-U", Username, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], root);

        // Another process may take the port between probing and binding it; a retry on a new port covers that.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var options = ServerOptions(port, sockets);
            var (exitCode, output) = RunAllowingFailure(runAs, Path.Combine(binDirectory, "pg_ctl"),
                ["start", "-w", "-t", "60", "-D", data, "-l", Path.Combine(root, "postgres.log"), "-o", options], root);
            if (exitCode == 0)
            {
                var cluster = new PostgresCluster(root, binDirectory, runAs, port);
                await using var command = cluster._admin.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync();
                return cluster;
            }

            var log = ReadLog(Path.Combine(root, "postgres.log"));
            StopServer(binDirectory, runAs, data);
            if (attempt == 3 || !log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
            {
                DeleteFolder(root);
                throw new InvalidOperationException($"pg_ctl start failed ({exitCode}): {output}\n{log}");
            }
        }
    }

    /// <summary><c>TERN_PG_BIN</c> when set (and then only there), else the newest Debian install, else PATH.</summary>
    private static (string? Directory, string LookedIn) FindBinaries()
    {
        static bool HasServer(string directory) =>
            File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

        if (Environment.GetEnvironmentVariable("TERN_PG_BIN") is { Length: > 0 } configured)
        {
            return (HasServer(configured) ? configured : null, $"TERN_PG_BIN={configured}");
        }

        const string debianRoot = "/usr/lib/postgresql";
        var candidates = Directory.Exists(debianRoot)
            ? Directory.GetDirectories(debianRoot)
                .Select(version => (Version: decimal.TryParse(Path.GetFileName(version), CultureInfo.InvariantCulture, out var v) ? v : 0m,
                    Bin: Path.Combine(version, "bin")))
                .OrderByDescending(c => c.Version)
                .Select(c => c.Bin)
            : [];
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        var found = candidates.Concat(path).FirstOrDefault(HasServer);
        return (found, $"{debianRoot}/*/bin and PATH; set TERN_PG_BIN to point elsewhere");
    }

    /// <summary>
    /// How to run a program as an unprivileged user when this process is root: an empty prefix when no switch
    /// is needed; null when none is possible.
    /// </summary>
    private static Runner? UnprivilegedRunner(out string? unavailable)
    {
        unavailable = null;
        if (!Environment.IsPrivilegedProcess)
        {
            return new Runner([], null);
        }

        var user = Environment.GetEnvironmentVariable("TERN_PG_USER") is { Length: > 0 } configured ? configured
            : RunAllowingFailure(Runner.Self, "id", ["-u", "postgres"], "/").ExitCode == 0 ? "postgres"
            : "nobody";
        if (new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser" }.FirstOrDefault(File.Exists) is { } runuser)
        {
            return new Runner([runuser, "-u", user, "--"], user);
        }

        if (new[] { "/usr/bin/setpriv", "/bin/setpriv" }.FirstOrDefault(File.Exists) is { } setpriv)
        {
            return new Runner([setpriv, $"--reuid={user}", $"--regid={user}", "--init-groups", "--"], user);
        }

        unavailable = "PostgreSQL cannot run as root and neither runuser nor setpriv was found to switch user; " +
            "run the tests as another user or install util-linux";
        return null;
    }

    /// <summary>Stops and deletes clusters whose test process died without cleaning up (killed, crashed).</summary>
    private static void RemoveAbandonedClusters(string binDirectory, Runner runAs)
    {
        foreach (var folder in Directory.GetDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var ownerFile = Path.Combine(folder, "owner.pid");
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner) || IsAlive(owner))
            {
                continue;
            }

            StopServer(binDirectory, runAs, Path.Combine(folder, "data"));
            DeleteFolder(folder);
        }
    }

    private static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void StopServer(string binDirectory, Runner runAs, string data)
    {
        if (File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            RunAllowingFailure(runAs, Path.Combine(binDirectory, "pg_ctl"), ["stop", "-D", data, "-m", "immediate", "-w"], Path.GetTempPath());
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ReadLog(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : "(no server log)";
        }
        catch (IOException e)
        {
            return $"(server log unreadable: {e.Message})";
        }
    }

    private static void DeleteFolder(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void Run(Runner runAs, string fileName, string[] arguments, string workingDirectory)
    {
        var (exitCode, output) = RunAllowingFailure(runAs, fileName, arguments, workingDirectory);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(fileName)} failed ({exitCode}): {output}");
        }
    }

    private static (int ExitCode, string Output) RunAllowingFailure(
        Runner runAs, string fileName, string[] arguments, string workingDirectory)
    {
        var command = runAs.Prefix.Concat([fileName, .. arguments]).ToArray();
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The server's user may not be able to enter the test's working directory.
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in command[1..])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command[0]}.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, (stdout + stderr.GetAwaiter().GetResult()).Trim());
    }

    /// <summary>A command prefix that switches to <see cref="User"/> (null: stay this user).</summary>
    private sealed record Runner(string[] Prefix, string? User)
    {
        public static readonly Runner Self = new([], null);
    }
}

/// <summary>A <see cref="PostgresCluster"/> owned by one test class, stopped and deleted on dispose.</summary>
/// <summary>A fresh database on a PostgreSQL cluster of the test class's own, which its tests may stop, start and freeze.</summary>
public sealed class DedicatedPostgresBackend : StorageBackend
{
    private DedicatedPostgresCluster? _cluster;
    private string? _database;

    public override string Name => "postgres";

    public PostgresCluster Cluster => _cluster?.Cluster ?? throw new InvalidOperationException("No PostgreSQL.");

    public override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Tern:Database:Provider", "postgres"),
        new("ConnectionStrings:Tern", Cluster.ConnectionString(_database!)),
    ];

    public bool IsAvailable => _cluster is not null;

    public override async ValueTask InitializeAsync()
    {
        _cluster = await PostgresCluster.StartDedicatedAsync();
        if (_cluster is not null)
        {
            _database = await _cluster.Cluster.CreateDatabaseAsync();
        }
    }

    public override ValueTask DisposeAsync()
    {
        _cluster?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class DedicatedPostgresCluster(PostgresCluster cluster) : IDisposable
{
    public PostgresCluster Cluster { get; } = cluster;

    public void Dispose() => Cluster.StopAndDelete();
}
