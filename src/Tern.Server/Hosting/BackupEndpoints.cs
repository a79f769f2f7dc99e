using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary><c>POST /api/v1/admin/backup</c>: an online, consistent copy of the embedded database under <c>{DataDir}/backups/</c>.</summary>
internal static class BackupEndpoints
{
    public static void MapBackup(this RouteGroupBuilder api) =>
        api.MapPost("/admin/backup", Backup).WithTags("Operations").RequireAuthorization(Scopes.Admin)
            .WithName("BackUpDatabase").WithSummary("Write an online backup of the embedded SQLite database beside it");

    public static async Task<Results<Created<BackupResponse>, ProblemHttpResult>> Backup(
        Database database, IOptions<TernOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!database.CanBackUp)
        {
            return Problems.Result(Problems.BackupUnsupported, Problems.BackupUnsupported.Description);
        }

        var now = timeProvider.GetUtcNow();
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetFullPath(options.Value.DataDir), "backups")).FullName;
        var path = Path.Combine(folder, $"tern-{now:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..6]}.db");
        await database.BackupToAsync(path, cancellationToken);
        var backup = new BackupResponse { Path = path, Bytes = new FileInfo(path).Length, CreatedAt = now };
        return TypedResults.Created((string?)null, backup);
    }
}
