namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// Checkpoints the embedded database's WAL twice a second from a connection of its own, so that the click writer's
/// commits only append to the WAL and the copying into the database file happens beside them. Does nothing on
/// PostgreSQL.
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
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await sqlite.CheckpointAsync(stoppingToken);
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
