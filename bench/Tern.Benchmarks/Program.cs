using System.Globalization;
using BenchmarkDotNet.Running;

namespace Tern.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Tern.Benchmarks -- --filter '*' --job short</c>; any BenchmarkDotNet
/// switch works (<c>--list flat</c>, <c>--filter *LinkCache*</c>, <c>--inProcess</c>, …).
/// <c>-- probe</c> instead prints, in a few seconds, the bytes allocated per redirect by each
/// <see cref="Pipeline"/> (20,000 requests each), as a quick check without BenchmarkDotNet.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["probe", ..])
        {
            Probe();
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }

    private static void Probe()
    {
        const int Requests = 20_000;
        foreach (var (pipeline, hostingLogs) in Enum.GetValues<Pipeline>().SelectMany(p => new[] { (p, true), (p, false) }))
        {
            var benchmark = new PipelineBenchmarks { Pipeline = pipeline, HostingLogs = hostingLogs };
            benchmark.Setup();
            for (var i = 0; i < Requests; i++)
            {
                benchmark.Redirect_cached_link().GetAwaiter().GetResult();
            }

            var thread = GC.GetAllocatedBytesForCurrentThread();
            var total = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < Requests; i++)
            {
                benchmark.Redirect_cached_link().GetAwaiter().GetResult();
            }

            var perThread = (GC.GetAllocatedBytesForCurrentThread() - thread) / (double)Requests;
            var perTotal = (GC.GetTotalAllocatedBytes(precise: true) - total) / (double)Requests;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{pipeline,-18} hosting logs {(hostingLogs ? "on " : "off")} {perThread,6:F0} B/redirect on this thread, {perTotal,6:F0} B/redirect in the process"));
            benchmark.Cleanup();
        }
    }
}
