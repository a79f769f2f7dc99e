namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// The turn to use SQLite's one writer. Writes that someone waits for (an API call) go before background ones (the
/// click writer's batches, webhook claims and records, purges) that are waiting at the same moment, so a link is
/// created within one background transaction's time however much background work is queued. So that background
/// work is never shut out, after <see cref="ForegroundInARow"/> foreground turns in a row a waiting background one
/// goes next. Within each kind, first come, first served.
/// </summary>
internal sealed class WriterGate
{
    public const int ForegroundInARow = 4;

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _foreground = new();
    private readonly Queue<TaskCompletionSource> _background = new();
    private bool _held;
    private int _foregroundInARow;

    /// <summary>Completes when the caller holds the writer; it must call <see cref="Exit"/> once done.</summary>
    public async Task EnterAsync(WritePriority priority, CancellationToken cancellationToken)
    {
        TaskCompletionSource turn;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return;
            }

            turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            (priority == WritePriority.Background ? _background : _foreground).Enqueue(turn);
        }

        // A waiter that gives up is skipped when its turn comes (TrySetResult fails on a cancelled turn).
        await using var registration = cancellationToken.Register(() => turn.TrySetCanceled(cancellationToken));
        await turn.Task;
    }

    public void Exit()
    {
        lock (_lock)
        {
            while (Next() is { } turn)
            {
                if (turn.TrySetResult())
                {
                    return;
                }
            }

            _held = false;
            _foregroundInARow = 0;
        }
    }

    private TaskCompletionSource? Next()
    {
        var foregroundFirst = _foreground.Count > 0 && (_background.Count == 0 || _foregroundInARow < ForegroundInARow);
        if (foregroundFirst)
        {
            _foregroundInARow++;
            return _foreground.Dequeue();
        }

        _foregroundInARow = 0;
        return _background.Count > 0 ? _background.Dequeue() : null;
    }
}
