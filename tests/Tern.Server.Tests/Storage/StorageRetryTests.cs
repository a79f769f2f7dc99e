using Microsoft.Extensions.Time.Testing;
using Tern.Server.Storage;

namespace Tern.Server.Tests.Storage;

public sealed class StorageRetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RetriesAFailingOperationUntilItSucceedsWaitingAtMostTheCapBetweenTries()
    {
        var clock = new FakeTimeProvider();
        var waits = new List<TimeSpan>();
        var pipeline = StorageRetry.Forever(clock, _ => true, (_, wait) => waits.Add(wait));
        var attempts = 0;

        var run = pipeline.ExecuteAsync(_ => ++attempts < 10 ? throw new TimeoutException() : ValueTask.CompletedTask, Ct).AsTask();
        while (!run.IsCompleted)
        {
            clock.Advance(StorageRetry.MaxDelay);
            await Task.Yield();
        }

        await run;
        Assert.Equal(10, attempts);
        Assert.Equal(9, waits.Count);
        Assert.All(waits, wait => Assert.InRange(wait, TimeSpan.Zero, StorageRetry.MaxDelay));
    }

    [Fact]
    public async Task AFailureTheCallerDoesNotRetryComesThroughAtOnce()
    {
        var pipeline = StorageRetry.Forever(new FakeTimeProvider(), exception => exception is not InvalidOperationException);
        var attempts = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw new InvalidOperationException();
        }, Ct));

        Assert.Equal(1, attempts);
    }
}
