using System.Globalization;

namespace Tern.Server.Clicks;

/// <summary>
/// The range and bucket width of a stats call. Without from/to it covers the last 30 days; the interval fits the
/// range (hour up to 2 days, day up to 92 days, week up to 2 years, month beyond) unless one is asked for.
/// </summary>
public sealed record StatsQuery(long FromMs, long ToMs, string Interval)
{
    public static readonly string[] Intervals = ["hour", "day", "week", "month"];
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(30);
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(3660);
    private const int MaxPoints = 5000;

    /// <summary>The instants a range may span: from the Unix epoch to the start of 9999, so that every bucket's end exists.</summary>
    public static readonly DateTimeOffset Earliest = DateTimeOffset.UnixEpoch;
    public static readonly DateTimeOffset Latest = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static StatsQuery? Parse(string? from, string? to, string? interval, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        var toAt = InRange(ParseInstant(to, "to", errors), "to", errors) ?? now;
        var fromAt = InRange(ParseInstant(from, "from", errors), "from", errors);
        if (errors.Count > 0)
        {
            return null;
        }

        if (fromAt is null && toAt - Earliest < DefaultRange)
        {
            errors["to"] = [$"Without from, to must be at least {DefaultRange.TotalDays:0} days after {Earliest:yyyy-MM-dd}."];
            return null;
        }

        fromAt ??= toAt - DefaultRange;

        if (fromAt >= toAt)
        {
            errors["from"] = ["from must be before to."];
            return null;
        }

        if (toAt - fromAt > MaxRange)
        {
            errors["from"] = [$"The range may span at most {MaxRange.TotalDays:0} days."];
            return null;
        }

        var range = toAt - fromAt.Value;
        var chosen = interval ?? (range <= TimeSpan.FromDays(2) ? "hour" : range <= TimeSpan.FromDays(92) ? "day" : range <= TimeSpan.FromDays(731) ? "week" : "month");
        if (!Intervals.Contains(chosen))
        {
            errors["interval"] = ["interval must be hour, day, week or month."];
            return null;
        }

        if (chosen == "hour" && range > TimeSpan.FromHours(MaxPoints))
        {
            errors["interval"] = [$"An hourly series may cover at most {MaxPoints} hours; use day, week or month."];
            return null;
        }

        return new StatsQuery(fromAt.Value.ToUnixTimeMilliseconds(), toAt.ToUnixTimeMilliseconds(), chosen);
    }

    /// <summary>The start of the bucket that holds this instant (weeks start on Monday, all in UTC).</summary>
    public long BucketOf(long ms)
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
        var start = Interval switch
        {
            "hour" => new DateTime(at.Year, at.Month, at.Day, at.Hour, 0, 0, DateTimeKind.Utc),
            "day" => at.Date,
            "week" => at.Date.AddDays(-(((int)at.DayOfWeek + 6) % 7)),
            _ => new DateTime(at.Year, at.Month, 1, 0, 0, 0, DateTimeKind.Utc),
        };
        return new DateTimeOffset(start).ToUnixTimeMilliseconds();
    }

    /// <summary>Every bucket start from the one holding <see cref="FromMs"/> up to <see cref="ToMs"/>.</summary>
    public IEnumerable<long> Buckets()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(BucketOf(FromMs)).UtcDateTime;
        while (new DateTimeOffset(at).ToUnixTimeMilliseconds() < ToMs)
        {
            yield return new DateTimeOffset(at).ToUnixTimeMilliseconds();
            at = Interval switch
            {
                "hour" => at.AddHours(1),
                "day" => at.AddDays(1),
                "week" => at.AddDays(7),
                _ => at.AddMonths(1),
            };
        }
    }

    private static DateTimeOffset? InRange(DateTimeOffset? at, string field, Dictionary<string, string[]> errors)
    {
        if (at is { } instant && (instant < Earliest || instant > Latest))
        {
            errors[field] = [$"{field} must lie between {Earliest:yyyy-MM-dd'T'HH:mm:ss'Z'} and {Latest:yyyy-MM-dd'T'HH:mm:ss'Z'}."];
            return null;
        }

        return at;
    }

    public static DateTimeOffset? ParseInstant(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return at;
        }

        errors[field] = [$"{field} must be an ISO-8601 instant such as 2026-11-27T10:00:00Z."];
        return null;
    }
}
