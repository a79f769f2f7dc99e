using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

#pragma warning disable CA1050 // The runtime looks for a type named exactly StartupHook in no namespace.

/// <summary>
/// Entry point of the startup hook. With <c>TERN_BENCH_ALLOC_LOG</c> set, one background thread appends a line
/// per second to that file: <c>unix_ms allocated_bytes gen0 gen1 gen2 heap_bytes committed_bytes pause_ms</c> (the last
/// the time all threads were paused for collections since start).
/// With <c>TERN_BENCH_ALLOC_TYPES</c> set too, an in-process <see cref="EventListener"/> samples the runtime's
/// GC AllocationTick events (one per ~100 KB allocated, with the type that crossed the threshold) and the same
/// thread rewrites that file every 5 seconds with the sampled bytes per type, most first: a statistical
/// allocation profile of the live server without any external tool.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        var path = Environment.GetEnvironmentVariable("TERN_BENCH_ALLOC_LOG");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var typesPath = Environment.GetEnvironmentVariable("TERN_BENCH_ALLOC_TYPES");
        var listener = string.IsNullOrEmpty(typesPath) ? null : new AllocationTickListener();
        var thread = new Thread(() => Sample(path, typesPath, listener)) { IsBackground = true, Name = "tern-bench-alloc-sampler" };
        thread.Start();
    }

    private static void Sample(string path, string? typesPath, AllocationTickListener? listener)
    {
        using var writer = new StreamWriter(path, append: false) { AutoFlush = true };
        writer.WriteLine("# unix_ms allocated_bytes gen0 gen1 gen2 heap_bytes committed_bytes pause_ms");
        for (var tick = 0L; ; tick++)
        {
            var info = GC.GetGCMemoryInfo();
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()} {GC.GetTotalAllocatedBytes(precise: false)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {GC.GetTotalMemory(forceFullCollection: false)} {info.TotalCommittedBytes} {GC.GetTotalPauseDuration().TotalMilliseconds:F1}"));
            if (listener is not null && typesPath is not null && tick % 5 == 4)
            {
                File.WriteAllText(typesPath, listener.Report());
            }

            Thread.Sleep(1000);
        }
    }

    private sealed class AllocationTickListener : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;
        private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

        public string Report()
        {
            // Enumerating a ConcurrentDictionary takes no lock (its Values and Count take them all).
            var snapshot = new List<KeyValuePair<string, long>>();
            foreach (var pair in _bytesByType)
            {
                snapshot.Add(pair);
            }

            var total = snapshot.Sum(p => p.Value);
            var lines = snapshot.OrderByDescending(p => p.Value).Take(40).Select(p => string.Create(CultureInfo.InvariantCulture,
                $"{p.Value,14} {100.0 * p.Value / Math.Max(1, total),6:F2}%  {p.Key}"));
            return string.Create(CultureInfo.InvariantCulture, $"# sampled bytes (AllocationTick), total {total}\n") + string.Join('\n', lines) + "\n";
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
            {
                return;
            }

            var names = eventData.PayloadNames!;
            var type = "?";
            long amount = 0;
            for (var i = 0; i < names.Count; i++)
            {
                switch (names[i])
                {
                    case "TypeName":
                        type = eventData.Payload[i] as string ?? "?";
                        break;
                    case "AllocationAmount64":
                        amount = Convert.ToInt64(eventData.Payload[i], CultureInfo.InvariantCulture);
                        break;
                    case "AllocationAmount" when amount == 0:
                        amount = Convert.ToInt64(eventData.Payload[i], CultureInfo.InvariantCulture);
                        break;
                    default:
                        break;
                }
            }

            _bytesByType.AddOrUpdate(type, amount, (_, sum) => sum + amount);
        }
    }
}
