using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>SQLite's write transactions run on a thread of their own, never on the thread pool.</summary>
public sealed class SqliteWriterThreadTests : IAsyncDisposable
{
    private readonly SqliteBackend _backend = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Database NewDatabase() => _backend.NewDatabase();

    [Fact]
    public async Task EveryWriteTransactionRunsOnOneThreadOutsideThePoolAndItsCallerGoesOnElsewhere()
    {
        var database = NewDatabase();

        var first = await database.WriteAsync((_, _) => Task.FromResult(Environment.CurrentManagedThreadId), Ct);
        var (second, pooled) = await database.WriteAsync(
            (_, _) => Task.FromResult((Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread)), Ct, WritePriority.Background);
        var callerAfter = Environment.CurrentManagedThreadId;

        Assert.Equal(first, second);
        Assert.False(pooled);
        Assert.NotEqual(first, callerAfter);
    }

    [Fact]
    public async Task AWriteThatAwaitsSomethingElseComesBackToTheWriterThread()
    {
        var database = NewDatabase();

        var (before, after) = await database.WriteAsync(async (_, _) =>
        {
            var before = Environment.CurrentManagedThreadId;
            await Task.Delay(20, Ct);
            return (before, Environment.CurrentManagedThreadId);
        }, Ct);

        Assert.Equal(before, after);
    }

    public async ValueTask DisposeAsync() => await _backend.DisposeAsync();
}
