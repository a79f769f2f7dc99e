namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// Checkpoints the embedded database's WAL twice a second, when something was committed since the last time, from
/// a connection of its own, so that the click writer's commits only append to the WAL and the copying into the
/// database file happens beside them. Does nothing on PostgreSQL.
/// </summary>
internal sealed class SqliteCheckpointer(Database database, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (database is not SqliteDatabase sqlite)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval);
        var checkpointed = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var commits = sqlite.Commits;
                if (commits == checkpointed)
                {
                    continue; // nothing new in the WAL
                }

                try
                {
                    await sqlite.CheckpointAsync(stoppingToken);
                    checkpointed = commits;
                }
                catch (Microsoft.Data.Sqlite.SqliteException exception)
                {
                    Hosting.Log.CheckpointFailed(logger, exception);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
