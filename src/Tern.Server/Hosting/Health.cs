using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary><c>/healthz</c>: the process serves. <c>/readyz</c>: and storage answers.</summary>
public static class Health
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok\n")).WithTags("Health")
            .WithName("Healthz").WithSummary("200 while the process serves");
        app.MapGet("/readyz", Ready).WithTags("Health")
            .WithName("Readyz").WithSummary("200 when storage is reachable, else 503");
    }

    public static async Task<IResult> Ready(Database database, CancellationToken cancellationToken) =>
        await database.PingAsync(cancellationToken)
            ? TypedResults.Text("ready\n")
            : Problems.Result(Problems.StorageUnavailable, "The database does not answer.");
}
