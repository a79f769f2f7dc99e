using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Tern.Server.Webhooks;

/// <summary>
/// When a failed delivery is tried again: the configured delays, in order, after the first attempt. Jitter only
/// lengthens a delay, and a receiver's <c>Retry-After</c> may push the next attempt later but never earlier. Pure:
/// the caller supplies the random sample and the clock.
/// </summary>
public sealed class RetrySchedule
{
    public const string ConfigKey = "Tern:Webhooks:RetryDelaysSeconds";

    /// <summary>Svix-like: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; with the first attempt, over 27 hours in all.</summary>
    public const string DefaultDelaysSeconds = "5,300,1800,7200,18000,36000,36000";

    /// <summary>The most jitter adds to a delay, as a fraction of it.</summary>
    public const double JitterFraction = 0.2;

    /// <summary>The longest <c>Retry-After</c> honoured; a receiver cannot park a delivery for longer.</summary>
    public const int MaxRetryAfterSeconds = 3600;

    /// <summary>The longest single delay accepted from configuration.</summary>
    public const int MaxDelaySeconds = 7 * 24 * 3600;

    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(MaxRetryAfterSeconds);

    public static RetrySchedule Default { get; } = Parse(DefaultDelaysSeconds);

    private readonly TimeSpan[] _delays;

    /// <exception cref="ArgumentException">No delay, or one that is negative or longer than <see cref="MaxDelaySeconds"/>.</exception>
    public RetrySchedule(IReadOnlyList<TimeSpan> delays)
    {
        if (delays.Count == 0)
        {
            throw new ArgumentException("A retry schedule needs at least one delay.", nameof(delays));
        }

        _delays = [.. delays];
        foreach (var delay in _delays)
        {
            if (delay < TimeSpan.Zero || delay > TimeSpan.FromSeconds(MaxDelaySeconds))
            {
                throw new ArgumentException($"Retry delay {delay} is outside 0 to {MaxDelaySeconds} seconds.", nameof(delays));
            }
        }
    }

    /// <summary>The delays after the first, second, … failed attempt.</summary>
    public IReadOnlyList<TimeSpan> Delays => _delays;

    /// <summary>Attempts a delivery gets in all: the first one and one per delay.</summary>
    public int MaxAttempts => _delays.Length + 1;

    /// <summary>The sum of the scheduled delays, without jitter: how long a delivery is retried at the least.</summary>
    public TimeSpan TotalDelay => _delays.Aggregate(TimeSpan.Zero, (sum, delay) => sum + delay);

    /// <summary>
    /// Reads comma-separated seconds such as <c>5,300,1800</c>; fractions (<c>0.5</c>) are allowed, spaces around
    /// entries ignored.
    /// </summary>
    /// <exception cref="InvalidOperationException">The text is empty or an entry is not a number of seconds from 0
    /// to <see cref="MaxDelaySeconds"/>; the message names <see cref="ConfigKey"/> and the entry.</exception>
    public static RetrySchedule Parse(string? commaSeparatedSeconds)
    {
        if (string.IsNullOrWhiteSpace(commaSeparatedSeconds))
        {
            throw new InvalidOperationException(
                $"{ConfigKey} is empty; it needs comma-separated seconds between retries, e.g. '{DefaultDelaysSeconds}'.");
        }

        var entries = commaSeparatedSeconds.Split(',', StringSplitOptions.TrimEntries);
        var delays = new TimeSpan[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            if (!double.TryParse(entries[i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
                || !double.IsFinite(seconds) || seconds > MaxDelaySeconds)
            {
                throw new InvalidOperationException(
                    $"{ConfigKey} holds '{entries[i]}' at position {i + 1}; each entry must be a number of seconds " +
                    $"from 0 to {MaxDelaySeconds}, e.g. '{DefaultDelaysSeconds}'.");
            }

            delays[i] = TimeSpan.FromSeconds(seconds);
        }

        return new RetrySchedule(delays);
    }

    /// <summary>
    /// How long to wait after <paramref name="failedAttempts"/> attempts have failed, or null when the schedule is
    /// exhausted and the delivery should be dead-lettered. The scheduled delay is lengthened by up to
    /// <see cref="JitterFraction"/> of itself; a <paramref name="retryAfter"/> longer than that wins, capped at
    /// <see cref="MaxRetryAfter"/>.
    /// </summary>
    /// <param name="failedAttempts">1 after the first attempt failed.</param>
    /// <param name="jitterSample">A uniform sample in [0, 1), e.g. <c>Random.Shared.NextDouble()</c>.</param>
    /// <param name="retryAfter">The receiver's <c>Retry-After</c>, when it sent one with a 429 or 503.</param>
    public TimeSpan? NextDelay(int failedAttempts, double jitterSample, TimeSpan? retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        if (!(jitterSample is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(jitterSample), jitterSample, "The jitter sample must lie in [0, 1).");
        }

        if (failedAttempts > _delays.Length)
        {
            return null;
        }

        var delay = _delays[failedAttempts - 1] * (1 + JitterFraction * jitterSample);
        if (retryAfter is { } asked && asked > delay)
        {
            var capped = asked < MaxRetryAfter ? asked : MaxRetryAfter;
            return capped > delay ? capped : delay;
        }

        return delay;
    }

    /// <summary>
    /// The wait a response asks for: its <c>Retry-After</c> (seconds or an HTTP date, read against
    /// <paramref name="now"/>) when the status is 429 or 503, else null. A date in the past asks for no wait.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpStatusCode status, RetryConditionHeaderValue? header, DateTimeOffset now)
    {
        if (status is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) || header is null)
        {
            return null;
        }

        if (header.Delta is { } delta)
        {
            return delta > TimeSpan.Zero ? delta : TimeSpan.Zero;
        }

        return header.Date is { } date ? (date > now ? date - now : TimeSpan.Zero) : null;
    }
}
