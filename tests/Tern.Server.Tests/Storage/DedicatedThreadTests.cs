using Tern.Server.Storage.Sqlite;

namespace Tern.Server.Tests.Storage;

public sealed class DedicatedThreadTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WorkRunsOnTheThreadOfItsOwnAndAFailureReachesTheCaller()
    {
        var dedicated = new DedicatedThread("test-dedicated");

        var (name, pooled) = await dedicated.RunAsync(() => Task.FromResult((Thread.CurrentThread.Name, Thread.CurrentThread.IsThreadPoolThread)));
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(
            () => dedicated.RunAsync<int>(() => throw new InvalidOperationException("broken")));

        Assert.Equal("test-dedicated", name);
        Assert.False(pooled);
        Assert.Equal("broken", failure.Message);
    }

    [Fact]
    public async Task AnIdleThreadEndsAndTheNextWorkStartsAnother()
    {
        var dedicated = new DedicatedThread("test-idle", TimeSpan.FromMilliseconds(50));

        var first = await dedicated.RunAsync(() => Task.FromResult(Thread.CurrentThread));
        var ended = first.Join(TimeSpan.FromSeconds(30));
        var second = await dedicated.RunAsync(() => Task.FromResult(Thread.CurrentThread));

        Assert.True(ended);
        Assert.NotSame(first, second);
        Assert.Equal("test-idle", second.Name);
    }

    [Fact]
    public async Task WorkQueuedFromManyThreadsNeverRunsInParallel()
    {
        var dedicated = new DedicatedThread("test-serial");
        var running = 0;
        var overlapped = false;
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => dedicated.RunAsync(() =>
        {
            overlapped |= Interlocked.Increment(ref running) > 1;
            threads[Environment.CurrentManagedThreadId] = true;
            Thread.SpinWait(10_000);
            Interlocked.Decrement(ref running);
            return Task.FromResult(i);
        }), Ct)));

        Assert.False(overlapped);
        Assert.Single(threads);
    }
}
