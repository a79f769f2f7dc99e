using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary><c>/healthz</c>: the process serves (no check runs). <c>/readyz</c>: and the checks tagged ready pass, i.e. storage answers.</summary>
public static class Health
{
    private const string ReadyTag = "ready";
    private static readonly HttpMethodMetadata GetOnly = new([HttpMethods.Get]);

    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: [ReadyTag]);
        return services;
    }

    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/healthz", Probe(_ => false, "ok\n")).WithMetadata(GetOnly);
        app.MapHealthChecks("/readyz", Probe(check => check.Tags.Contains(ReadyTag), "ready\n")).WithMetadata(GetOnly);
    }

    private static HealthCheckOptions Probe(Func<HealthCheckRegistration, bool> predicate, string healthy) => new()
    {
        Predicate = predicate,
        // No cache headers, like every other Tern answer; probers do not cache.
        AllowCachingResponses = true,
        ResponseWriter = (context, report) => (report.Status == HealthStatus.Healthy
            ? TypedResults.Text(healthy)
            : (IResult)Problems.Result(Problems.StorageUnavailable, "The database does not answer.")).ExecuteAsync(context),
    };
}

/// <summary>Healthy while storage answers a trivial query within a few seconds.</summary>
internal sealed class StorageHealthCheck(Database database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        await database.PingAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : new HealthCheckResult(context.Registration.FailureStatus, "The database does not answer.");
}
