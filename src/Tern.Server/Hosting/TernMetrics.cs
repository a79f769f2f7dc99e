using System.Diagnostics.Metrics;
using Tern.Server.Redirect;

namespace Tern.Server.Hosting;

/// <summary>
/// Tern's instruments on the <c>Tern</c> meter, read by any OpenTelemetry or dotnet-counters listener.
/// Observable instruments cost nothing until a listener reads them.
/// </summary>
internal sealed class TernMetrics : IDisposable
{
    public const string MeterName = "Tern";

    private readonly Meter _meter;

    public TernMetrics(IMeterFactory meterFactory, LinkCache cache)
    {
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge("tern.link_cache.entries", () => cache.Count, description: "Links held by the redirect cache");
        _meter.CreateObservableCounter("tern.link_cache.storage_reads", () => cache.StorageReads,
            description: "Redirects that had to read storage because the link was not cached");
    }

    public void Dispose() => _meter.Dispose();
}
