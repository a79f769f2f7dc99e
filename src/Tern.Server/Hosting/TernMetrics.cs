using System.Diagnostics.Metrics;
using Tern.Server.Clicks;
using Tern.Server.Redirect;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// Tern's instruments on the <c>Tern</c> meter, read by any OpenTelemetry or dotnet-counters listener.
/// Observable instruments cost nothing until a listener reads them.
/// </summary>
internal sealed class TernMetrics : IDisposable
{
    public const string MeterName = "Tern";

    private readonly Meter _meter;

    public TernMetrics(IMeterFactory meterFactory, LinkCache cache, ClickQueue clicks, ClickWriter writer, ClickFolder folder, Database database)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge("tern.link_cache.entries", () => cache.Count, description: "Links held by the redirect cache");
        _meter.CreateObservableCounter("tern.link_cache.storage_reads", () => cache.StorageReads,
            description: "Redirects that had to read storage because the link was not cached");
        _meter.CreateObservableGauge("tern.clicks.queue_depth", () => clicks.Depth, description: "Answered clicks waiting to be written");
        _meter.CreateObservableCounter("tern.clicks.persisted", () => writer.Persisted, description: "Clicks written to storage");
        _meter.CreateObservableCounter("tern.clicks.failed_writes", () => writer.FailedWrites, description: "Click batches that failed to write and were retried");
        _meter.CreateObservableGauge("tern.clicks.writer_lag", () => writer.Lag.TotalSeconds, unit: "s",
            description: "How far the click writer trails the redirects: time since its last committed batch while clicks wait");
        _meter.CreateObservableCounter("tern.clicks.folded", () => folder.Folded,
            description: "Clicks folded into their links' counts, the stats and link.clicked events");
        _meter.CreateObservableGauge("tern.clicks.fold_backlog", () => folder.Backlog,
            description: "Stored clicks not yet folded: on SQLite into counts, stats and events; on PostgreSQL this node's clicks not yet in the stats rollups");
        _meter.CreateObservableGauge("tern.clicks.fold_lag", () => folder.Lag.TotalSeconds, unit: "s",
            description: "How long stored clicks have waited for the fold (on PostgreSQL: the oldest of this node's clicks not yet in the stats rollups)");
        _meter.CreateObservableCounter("tern.redirects", () => clicks.Enqueued, description: "Redirects answered and counted as clicks");
        _meter.CreateObservableCounter("tern.storage.writer.turns", () => Measure(database, use => use.Turns),
            description: "Write transactions at SQLite's one writer, by kind (foreground: API calls; clicks: the journal's appends; background: workers)");
        _meter.CreateObservableCounter("tern.storage.writer.wait_time", () => Measure(database, use => use.WaitedSeconds), unit: "s",
            description: "Time writes waited for their turn at SQLite's one writer, by kind");
        _meter.CreateObservableCounter("tern.storage.writer.busy_time", () => Measure(database, use => use.HeldSeconds), unit: "s",
            description: "Time SQLite's one writer spent on each kind of write, its commits included");
        StorageErrors = _meter.CreateCounter<long>("tern.storage.errors", description: "API calls answered 503 because storage failed or did not answer in time");
    }

    private static IEnumerable<Measurement<T>> Measure<T>(Database database, Func<WriterUse, T> value)
        where T : struct =>
        database.WriterUses().Select(use => new Measurement<T>(value(use), new KeyValuePair<string, object?>("kind", use.Priority.ToString().ToLowerInvariant())));

    /// <summary>Counted by the exception handler, once per API call that storage failed.</summary>
    public Counter<long> StorageErrors { get; }

    public void Dispose() => _meter.Dispose();
}
