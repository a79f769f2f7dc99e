using Polly;
using Polly.Retry;

namespace Tern.Server.Storage;

/// <summary>
/// How workers wait out storage that fails (a lost connection, a restarting server, a full disk): the operation is
/// retried until it succeeds, with exponential backoff from 100 ms capped at 5 s, and jitter so that nodes that lost
/// storage together do not all come back at the same instant.
/// </summary>
public static class StorageRetry
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A pipeline that retries every failure <paramref name="retries"/> accepts, for as long as it takes; waits go by
    /// <paramref name="timeProvider"/>, and <paramref name="onRetry"/> hears each failure with the wait before the next try.
    /// </summary>
    public static ResiliencePipeline Forever(TimeProvider timeProvider, Func<Exception, bool> retries, Action<Exception, TimeSpan>? onRetry = null) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } exception && retries(exception)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = FirstDelay,
                MaxDelay = MaxDelay,
                OnRetry = args =>
                {
                    onRetry?.Invoke(args.Outcome.Exception!, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
}
