using Tern.Contracts;

namespace Tern.Server.Clicks;

/// <summary>A stored click: what the contract exposes, plus the language and the optional daily visitor hash.</summary>
public sealed record Click
{
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }
    public required string LinkId { get; init; }
    public required string Slug { get; init; }
    public required string Domain { get; init; }
    public required long TimestampMs { get; init; }
    public required string Device { get; init; }
    public required string Browser { get; init; }
    public required string Os { get; init; }
    public string? Country { get; init; }
    public string? Referrer { get; init; }
    public string? ReferrerHost { get; init; }
    public string? Language { get; init; }
    public required bool IsBot { get; init; }
    public string? Visitor { get; init; }
    public string? Destination { get; init; }
    public int? RuleIndex { get; init; }
    public int? Variant { get; init; }
    public string? Source { get; init; }

    /// <summary>The click as the API and the <c>link.clicked</c> event show it (no visitor hash).</summary>
    public ClickResponse ToResponse() => new()
    {
        Id = Id,
        LinkId = LinkId,
        Slug = Slug,
        Domain = Domain,
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(TimestampMs),
        DeviceCategory = Device,
        Browser = Browser,
        Os = Os,
        Country = Country,
        Referrer = Referrer,
        Language = Language,
        IsBot = IsBot,
        Destination = Destination,
        RuleIndex = RuleIndex,
        Variant = Variant,
        Source = Source,
    };
}
