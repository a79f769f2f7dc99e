using System.Diagnostics.Metrics;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>
/// Reads Tern's webhook instruments for one endpoint (by its <c>webhook.id</c> tag, so hosts of other tests in the
/// process do not count): instrument name, with <c>/outcome</c> where there is one, to the last value measured.
/// </summary>
public sealed class WebhookMeterReader : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _webhookId;
    private readonly Dictionary<string, double> _values = [];

    public WebhookMeterReader(string webhookId)
    {
        _webhookId = webhookId;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Tern" && instrument.Name.StartsWith("tern.webhooks.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Keep(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Keep(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Keep(instrument, value, tags));
        _listener.Start();
    }

    public IReadOnlyDictionary<string, double> Read()
    {
        lock (_values)
        {
            _values.Clear();
        }

        _listener.RecordObservableInstruments();
        lock (_values)
        {
            return new Dictionary<string, double>(_values);
        }
    }

    private void Keep(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? webhookId = null;
        string? outcome = null;
        foreach (var tag in tags)
        {
            (webhookId, outcome) = tag.Key switch
            {
                "webhook.id" => ((string?)tag.Value, outcome),
                "outcome" => (webhookId, (string?)tag.Value),
                _ => (webhookId, outcome),
            };
        }

        if (webhookId == _webhookId || (webhookId is null && instrument.Name == "tern.webhooks.drain_pace"))
        {
            lock (_values)
            {
                _values[outcome is null ? instrument.Name : $"{instrument.Name}/{outcome}"] = value;
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
