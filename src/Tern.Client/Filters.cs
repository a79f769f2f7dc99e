using System.Globalization;

namespace Tern.Client;

/// <summary>Which links a list or export returns; every set filter must match.</summary>
public sealed record LinkFilter
{
    public string? Tag { get; init; }
    /// <summary>Searches slug, destination and title.</summary>
    public string? Query { get; init; }
    public bool? Archived { get; init; }
    public string? ExternalId { get; init; }

    internal IEnumerable<(string, string?)> ToQuery() =>
        [("tag", Tag), ("q", Query), ("archived", Archived is { } a ? (a ? "true" : "false") : null), ("externalId", ExternalId)];
}

/// <summary>Which clicks a list or export returns.</summary>
public sealed record ClickFilter
{
    public string? LinkId { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    /// <summary>False leaves out clicks classified as bots (crawlers, link-preview fetchers); unset means true.</summary>
    public bool? IncludeBots { get; init; }

    internal IEnumerable<(string, string?)> ToQuery() =>
        [("linkId", LinkId), ("from", Iso(From)), ("to", Iso(To)), ("includeBots", IncludeBots is { } b ? (b ? "true" : "false") : null)];

    internal static string? Iso(DateTimeOffset? instant) =>
        instant?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}

/// <summary>The range of a stats call; unset ends default to the last 30 days, the interval to one fitting the range.</summary>
public sealed record StatsRange
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    /// <summary>hour, day, week or month.</summary>
    public string? Interval { get; init; }

    internal IEnumerable<(string, string?)> ToQuery() => [("from", ClickFilter.Iso(From)), ("to", ClickFilter.Iso(To)), ("interval", Interval)];
}

/// <summary>One event of the stream: its id, its type and its JSON exactly as Tern sent it.</summary>
public sealed record StreamedEvent(string Id, string Type, string Json);
