using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Events;

/// <summary>
/// Wakes the readers of the event log (event streams) when events may have committed: at once for this node's
/// commits (the outbox rings it), and on PostgreSQL for every node's through <c>LISTEN tern_events</c>, which the
/// <c>events</c> table's trigger announces on commit (migration 0012). A notice only says "look again"; readers
/// find what is new in the log itself, so a notice lost while reconnecting costs at most their periodic look.
/// </summary>
public sealed class EventNotices(Database database, TimeProvider timeProvider, ILogger<EventNotices> logger) : BackgroundService
{
    public const string Channel = "tern_events";

    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next notice. Take it before reading the log, then wait on it, so no notice falls between.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    /// <summary>Wakes every reader waiting on <see cref="Next"/>: one allocation per notice, whatever the number of readers.</summary>
    public void Ring() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasNotifications)
        {
            return; // one node: the outbox rings for every commit
        }

        var reconnect = StorageRetry.Forever(timeProvider, _ => !stoppingToken.IsCancellationRequested,
            (exception, retryIn) => Log.EventNoticesLost(logger, exception, retryIn.TotalMilliseconds));
        try
        {
            while (true)
            {
                // Listening (re)started: what committed meanwhile was not heard, so readers look once.
                await reconnect.ExecuteAsync(token => new ValueTask(database.ListenAsync(Channel, Ring, _ => Ring(), token)), stoppingToken);
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
