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
/// With <c>TERN_BENCH_GC_EVENTS</c> set, a listener for the runtime's GC events appends a line per collection to
/// that file: <c>unix_ms index generation reason pause_ms promoted_gen0 promoted_gen1 promoted_gen2 size_gen0
/// size_gen1 size_gen2 size_loh pinned</c> (pause: from the runtime suspending the threads to restarting them), which
/// tells what a pause is made of: how much survived the young generations and how large the old ones are.
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

        var gcPath = Environment.GetEnvironmentVariable("TERN_BENCH_GC_EVENTS");
        if (!string.IsNullOrEmpty(gcPath))
        {
            _ = new CollectionListener(gcPath);
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
            var large = false;
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
                    case "AllocationKind":
                        large = Convert.ToInt32(eventData.Payload[i], CultureInfo.InvariantCulture) == 1;
                        break;
                    case "AllocationAmount" when amount == 0:
                        amount = Convert.ToInt64(eventData.Payload[i], CultureInfo.InvariantCulture);
                        break;
                    default:
                        break;
                }
            }

            // Objects of 85,000 bytes or more go to the large object heap, whose budget running out starts a full collection.
            _bytesByType.AddOrUpdate(large ? type + " (large object heap)" : type, amount, (_, sum) => sum + amount);
        }
    }

    /// <summary>One line per collection from the runtime's GC events (informational level, GC keyword).</summary>
    private sealed class CollectionListener : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;
        private readonly StreamWriter _writer;
        private DateTime _suspendedAt;
        private long _index;
        private int _generation;
        private int _reason;
        private string _heap = "";

        public CollectionListener(string path)
        {
            _writer = new StreamWriter(path, append: false) { AutoFlush = true };
            _writer.WriteLine("# unix_ms index generation reason pause_ms promoted_gen0 promoted_gen1 promoted_gen2 size_gen0 size_gen1 size_gen2 size_loh pinned");
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            switch (eventData.EventName)
            {
                case { } name when name.StartsWith("GCSuspendEEBegin", StringComparison.Ordinal):
                    _suspendedAt = eventData.TimeStamp;
                    break;
                case { } name when name.StartsWith("GCStart", StringComparison.Ordinal):
                    _index = Convert.ToInt64(Value(eventData, "Count"), CultureInfo.InvariantCulture);
                    _generation = Convert.ToInt32(Value(eventData, "Depth"), CultureInfo.InvariantCulture);
                    _reason = Convert.ToInt32(Value(eventData, "Reason"), CultureInfo.InvariantCulture);
                    break;
                case { } name when name.StartsWith("GCHeapStats", StringComparison.Ordinal):
                    _heap = string.Join(' ', new[]
                    {
                        "TotalPromotedSize0", "TotalPromotedSize1", "TotalPromotedSize2",
                        "GenerationSize0", "GenerationSize1", "GenerationSize2", "GenerationSize3", "PinnedObjectCount",
                    }.Select(field => Convert.ToString(Value(eventData, field), CultureInfo.InvariantCulture)));
                    break;
                case { } name when name.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) && _suspendedAt != default:
                    var pause = (eventData.TimeStamp - _suspendedAt).TotalMilliseconds;
                    lock (_writer)
                    {
                        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{new DateTimeOffset(eventData.TimeStamp).ToUnixTimeMilliseconds()} {_index} {_generation} {_reason} {pause:F2} {_heap}"));
                    }

                    _suspendedAt = default;
                    break;
                default:
                    break;
            }
        }

        private static object? Value(EventWrittenEventArgs eventData, string field)
        {
            var index = eventData.PayloadNames?.IndexOf(field) ?? -1;
            return index >= 0 ? eventData.Payload![index] : null;
        }
    }
}
