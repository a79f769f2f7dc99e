using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Tern.Server.Storage;

/// <summary>The database driver's own spans and metrics, for the telemetry that Hosting turns on.</summary>
internal static class StorageTelemetry
{
    public static TracerProviderBuilder AddStorageInstrumentation(this TracerProviderBuilder tracing) => tracing.AddNpgsql();

    public static MeterProviderBuilder AddStorageInstrumentation(this MeterProviderBuilder metrics) => metrics.AddNpgsqlInstrumentation();
}
