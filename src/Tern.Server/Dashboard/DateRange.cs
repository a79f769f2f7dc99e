using System.Globalization;

namespace Tern.Server.Dashboard;

/// <summary>The date-range picker's choice as the stats calls' <c>from</c> and <c>to</c>: a preset, or whole UTC days.</summary>
public static class DateRange
{
    public static (string? From, string? To) Resolve(string? range, string? fromDate, string? toDate, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(fromDate) || !string.IsNullOrWhiteSpace(toDate))
        {
            // A "to" date includes that whole day; unparsable text goes through as is, so the stats call names the problem.
            var to = DateOnly.TryParseExact(toDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                ? day.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00Z"
                : string.IsNullOrWhiteSpace(toDate) ? null : toDate;
            var from = string.IsNullOrWhiteSpace(fromDate) ? null : fromDate;
            return (from, to);
        }

        var span = range switch
        {
            "24h" => TimeSpan.FromHours(24),
            "30d" => TimeSpan.FromDays(30),
            "90d" => TimeSpan.FromDays(90),
            _ => TimeSpan.FromDays(7),
        };
        return ((now - span).ToString("O", CultureInfo.InvariantCulture), null);
    }
}
