using System.Collections.Concurrent;

namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// A thread of its own for SQLite's long work: the write transactions, and the checkpoints and backups.
/// Microsoft.Data.Sqlite's asynchronous methods run synchronously, so a transaction holds whichever thread runs it from
/// its first statement to its commit (a click fold can take 100 ms), and a checkpoint for as long as it copies pages and
/// waits for the disk. On the thread pool that was one of the few workers a small machine starts with (as many as it
/// has cores), and requests queued behind it until the pool added threads. Here the work holds this thread instead,
/// and the operating system shares the cores between it and the pool's workers.
/// </summary>
/// <remarks>
/// A task scheduler with one thread: the transaction's continuations come back to it (an <c>await</c> inside resumes on
/// the scheduler it started on), and it never runs a task inline on another thread. The thread ends after
/// <paramref name="idleTimeout"/> (30 s) without work and a new one starts with the next, so a database no longer
/// written to (as in tests, which make many) keeps no thread.
/// </remarks>
internal sealed class DedicatedThread(string name, TimeSpan? idleTimeout = null) : TaskScheduler
{
    private readonly TimeSpan _idleTimeout = idleTimeout ?? TimeSpan.FromSeconds(30);

    private readonly BlockingCollection<Task> _tasks = [];
    private readonly Lock _lock = new();
    private bool _running;

    /// <summary>
    /// Runs <paramref name="work"/> on this thread; the caller resumes on the thread pool, not here, so that what it
    /// does next never holds up the next transaction.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work) =>
        await Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap()
            .ConfigureAwait(ConfigureAwaitOptions.ForceYielding);

    public override int MaximumConcurrencyLevel => 1;

    protected override void QueueTask(Task task)
    {
        lock (_lock)
        {
            _tasks.Add(task);
            if (!_running)
            {
                _running = true;
                new Thread(Run) { IsBackground = true, Name = name }.Start();
            }
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _tasks.ToArray();

    private void Run()
    {
        while (true)
        {
            if (_tasks.TryTake(out var task, _idleTimeout))
            {
                TryExecuteTask(task);
                continue;
            }

            lock (_lock)
            {
                // A task queued after the wait ended is in the collection by now, and finds this thread still running.
                if (_tasks.Count == 0)
                {
                    _running = false;
                    return;
                }
            }
        }
    }
}
