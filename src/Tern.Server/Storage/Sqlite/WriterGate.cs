namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// The turn to use SQLite's one writer. Writes that someone waits for (an API call) go first; then the click
/// journal's appends, which redirects wait on once the click queue is full; then background work (the click fold,
/// webhook claims and records, purges) waiting at the same moment. So a link is created within one transaction's
/// time however much work is queued, and a burst of redirects is stored ahead of its own fold. So that no kind is
/// shut out, after <see cref="TurnsInARow"/> turns in a row of one kind, a waiting lower one goes next. Within
/// each kind, first come, first served.
/// </summary>
internal sealed class WriterGate
{
    public const int TurnsInARow = 4;

    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource> _foreground = new();
    private readonly Queue<TaskCompletionSource> _clicks = new();
    private readonly Queue<TaskCompletionSource> _background = new();
    private bool _held;
    private int _foregroundInARow;
    private int _clicksInARow;

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
            (priority switch { WritePriority.Background => _background, WritePriority.Clicks => _clicks, _ => _foreground }).Enqueue(turn);
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
            _clicksInARow = 0;
        }
    }

    private TaskCompletionSource? Next()
    {
        if (_foreground.Count > 0 && (_foregroundInARow < TurnsInARow || (_clicks.Count == 0 && _background.Count == 0)))
        {
            _foregroundInARow++;
            return _foreground.Dequeue();
        }

        _foregroundInARow = 0;
        if (_clicks.Count > 0 && (_clicksInARow < TurnsInARow || _background.Count == 0))
        {
            _clicksInARow++;
            return _clicks.Dequeue();
        }

        _clicksInARow = 0;
        return _background.Count > 0 ? _background.Dequeue() : null;
    }
}
