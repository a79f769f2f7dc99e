namespace Tern.Contracts;

/// <summary>One click as the API lists it. The visitor's address is never stored.</summary>
public sealed record ClickResponse
{
    public required string Id { get; init; }
    public required string LinkId { get; init; }
    public required string Slug { get; init; }
    public required string Domain { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    /// <summary>desktop, mobile, tablet, bot or other.</summary>
    public required string DeviceCategory { get; init; }
    public required string Browser { get; init; }
    public required string Os { get; init; }
    /// <summary>ISO 3166-1 alpha-2, or null when unknown.</summary>
    public string? Country { get; init; }
    public string? Referrer { get; init; }
    public string? Language { get; init; }
    public required bool IsBot { get; init; }
    /// <summary>The destination chosen, before the visitor's own query was appended.</summary>
    public string? Destination { get; init; }
    /// <summary>The index of the targeting rule that chose the destination, or null.</summary>
    public int? RuleIndex { get; init; }
    /// <summary>The index of the A/B variant that chose the destination, or null.</summary>
    public int? Variant { get; init; }
    /// <summary>"qr" for a scan of the link's QR code, else null.</summary>
    public string? Source { get; init; }
}

/// <summary>Clicks in one bucket of a time series; <see cref="T"/> is the bucket's start.</summary>
public sealed record TimeseriesPoint(DateTimeOffset T, long Clicks);

/// <summary>Clicks of one key of a breakdown (a country code, a device category, a referrer host…); null key: unknown or none.</summary>
public sealed record BreakdownEntry(string? Key, long Clicks);

/// <summary>One of the links with the most clicks.</summary>
public sealed record TopLink(string Id, string? Domain, string? Slug, string? ShortUrl, long Clicks);

/// <summary>The answer of the stats calls; <see cref="Links"/> only for the workspace.</summary>
public sealed record StatsResponse
{
    public required DateTimeOffset From { get; init; }
    public required DateTimeOffset To { get; init; }
    /// <summary>hour, day, week or month: the width of each time-series bucket.</summary>
    public required string Interval { get; init; }
    public required long Total { get; init; }
    /// <summary>Visitors counted once per day (summed over the days of the range); null unless Tern:Clicks:UniqueVisitors is on.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public long? UniqueVisitors { get; init; }
    public required IReadOnlyList<TimeseriesPoint> Timeseries { get; init; }
    public required IReadOnlyList<BreakdownEntry> Countries { get; init; }
    public required IReadOnlyList<BreakdownEntry> Devices { get; init; }
    public required IReadOnlyList<BreakdownEntry> Browsers { get; init; }
    public required IReadOnlyList<BreakdownEntry> Os { get; init; }
    public required IReadOnlyList<BreakdownEntry> Referrers { get; init; }
    /// <summary>Clicks by destination served (a link's stats; which rule or A/B variant won).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<BreakdownEntry>? Destinations { get; init; }
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<TopLink>? Links { get; init; }
}
