using System.Diagnostics;
using System.Globalization;

namespace Tern.Bench;

/// <summary>
/// The machine around a measurement: waits for it to be idle first (the same rule as <c>wait_quiet</c> in
/// bench/lib.sh: the share of non-idle CPU time in /proc/stat over 2 s, here required on two windows in a row),
/// and measures CPU time of this process and of PostgreSQL's processes over a phase.
/// </summary>
public static class Machine
{
    public static int MaxBusyPercent { get; set; } = 20;

    public static int MaxWaitSeconds { get; set; } = 600;

    /// <summary>Waits until the machine is quiet; returns the busy % of the last window (measured anyway after the wait limit).</summary>
    public static async Task<int> WaitQuietAsync(string what)
    {
        var deadline = Stopwatch.StartNew();
        var calm = 0;
        while (true)
        {
            var busy = await BusyPercentAsync(TimeSpan.FromSeconds(2));
            calm = busy <= MaxBusyPercent ? calm + 1 : 0;
            if (calm >= 2)
            {
                return busy;
            }

            if (deadline.Elapsed.TotalSeconds >= MaxWaitSeconds)
            {
                Log($"machine still {busy}% busy after {MaxWaitSeconds}s; measuring {what} anyway (figures are suspect)");
                return busy;
            }

            if (calm == 0)
            {
                Log($"machine {busy}% busy (load {LoadAverage()}); waiting before {what}");
                await Task.Delay(TimeSpan.FromSeconds(3));
            }
        }
    }

    public static async Task<int> BusyPercentAsync(TimeSpan window)
    {
        var a = ReadCpu();
        await Task.Delay(window);
        var b = ReadCpu();
        var total = b.Total - a.Total;
        return total <= 0 ? 0 : (int)Math.Round(100.0 * (total - (b.Idle - a.Idle)) / total);
    }

    public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static (long Total, long Idle) ReadCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        return (fields.Sum(), fields[3] + fields[4]);
    }

    /// <summary>CPU time so far of this process and of every process named postgres.</summary>
    public static CpuSample SampleCpu()
    {
        var self = Process.GetCurrentProcess().TotalProcessorTime;
        var postgres = TimeSpan.Zero;
        foreach (var process in Process.GetProcessesByName("postgres"))
        {
            try
            {
                postgres += process.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }
            finally
            {
                process.Dispose();
            }
        }

        var (total, idle) = ReadCpu();
        return new CpuSample(Stopwatch.GetTimestamp(), self, postgres, TimeSpan.FromSeconds((total - idle) / 100.0));
    }

    /// <summary>Resident memory of this process in MiB (VmRSS of /proc/self/status, else the working set).</summary>
    public static double RssMiB()
    {
        if (File.Exists("/proc/self/status"))
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }

        return Environment.WorkingSet / (1024.0 * 1024.0);
    }

    public static void Log(string message) =>
        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>The runtime the measurement ran on (the machine itself is described by the run script).</summary>
    public static string Describe() =>
        $".NET {Environment.Version} runtime, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC; " +
        $"Tern, the load and (for webhooks) the receiver in one process on {Environment.ProcessorCount} cores";
}

/// <summary>CPU time of this process, of PostgreSQL and of the whole machine (/proc/stat, 100 ticks a second) at one instant.</summary>
public readonly record struct CpuSample(long At, TimeSpan Self, TimeSpan Postgres, TimeSpan Machine)
{
    /// <summary>
    /// Cores busy on average between two samples: this process, PostgreSQL, and everything else on the machine
    /// (which should stay near 0: more means another workload ran during the measurement).
    /// </summary>
    public static CpuShare CoresBetween(CpuSample from, CpuSample to)
    {
        var wall = Stopwatch.GetElapsedTime(from.At, to.At).TotalSeconds;
        if (wall <= 0)
        {
            return new CpuShare(0, 0, 0);
        }

        var self = (to.Self - from.Self).TotalSeconds / wall;
        var postgres = (to.Postgres - from.Postgres).TotalSeconds / wall;
        var machine = (to.Machine - from.Machine).TotalSeconds / wall;
        return new CpuShare(self, postgres, Math.Max(0, machine - self - postgres));
    }
}

/// <summary>Average cores busy over a phase.</summary>
public readonly record struct CpuShare(double Tern, double Postgres, double Others)
{
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Tern:0.00}{(Postgres > 0.005 ? $" + PG {Postgres:0.00}" : "")}; others {Others:0.00}");
}

public static class Percentiles
{
    /// <summary>Nearest-rank percentile of the values (sorted here).</summary>
    public static double Of(IEnumerable<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
