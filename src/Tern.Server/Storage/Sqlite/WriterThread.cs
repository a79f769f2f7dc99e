using System.Collections.Concurrent;

namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// The thread that SQLite's write transactions run on. Microsoft.Data.Sqlite's asynchronous methods run synchronously,
/// so a transaction holds whichever thread runs it from its first statement to its commit: a click fold can take
/// 100 ms. On the thread pool that was one of the few workers a small machine starts with (as many as it has cores),
/// and requests queued behind it until the pool added threads. Here the transaction holds this thread instead, and
/// the operating system shares the cores between it and the pool's workers.
/// </summary>
/// <remarks>
/// A task scheduler with one thread: the transaction's continuations come back to it (an <c>await</c> inside resumes on
/// the scheduler it started on), and it never runs a task inline on another thread.
/// </remarks>
internal sealed class WriterThread : TaskScheduler
{
    private readonly BlockingCollection<Task> _tasks = [];

    public WriterThread(string name)
    {
        var thread = new Thread(Run) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this thread; the caller resumes on the thread pool, not here, so that what it
    /// does next never holds up the next transaction.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work) =>
        await Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap()
            .ConfigureAwait(ConfigureAwaitOptions.ForceYielding);

    public override int MaximumConcurrencyLevel => 1;

    protected override void QueueTask(Task task) => _tasks.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _tasks.ToArray();

    private void Run()
    {
        foreach (var task in _tasks.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }
}
