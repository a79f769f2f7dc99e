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
        Retrying(int.MaxValue, timeProvider, retries, onRetry);

    /// <summary>
    /// The same waits, but at most <paramref name="retryAttempts"/> retries: for work whose loss something else makes
    /// good (an unrecorded webhook attempt is sent again once its claim lapses).
    /// </summary>
    public static ResiliencePipeline Times(int retryAttempts, TimeProvider timeProvider, Func<Exception, bool> retries, Action<Exception, TimeSpan>? onRetry = null) =>
        Retrying(retryAttempts, timeProvider, retries, onRetry);

    private static ResiliencePipeline Retrying(int retryAttempts, TimeProvider timeProvider, Func<Exception, bool> retries, Action<Exception, TimeSpan>? onRetry) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } exception && retries(exception)),
                MaxRetryAttempts = retryAttempts,
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
