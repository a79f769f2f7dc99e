using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>UTM parameters merged into a destination's query as <c>utm_*</c>.</summary>
public sealed record UtmParameters
{
    public string? Source { get; init; }
    public string? Medium { get; init; }
    public string? Campaign { get; init; }
    public string? Term { get; init; }
    public string? Content { get; init; }
}

/// <summary>The conditions of a targeting rule; every given one must hold, and a rule with none always matches.</summary>
public sealed record LinkRuleCondition
{
    /// <summary>Device categories: desktop, mobile, tablet.</summary>
    public IReadOnlyList<string>? Device { get; init; }
    /// <summary>Operating systems as the click classifier names them (iOS, Android, Windows, macOS, Linux, ChromeOS…).</summary>
    public IReadOnlyList<string>? Os { get; init; }
    /// <summary>ISO 3166-1 alpha-2 country codes.</summary>
    public IReadOnlyList<string>? Country { get; init; }
    /// <summary>Languages of the first Accept-Language tag: "de" matches de-CH too, "de-CH" only de-CH.</summary>
    public IReadOnlyList<string>? Language { get; init; }
    /// <summary>Query parameters of the short URL that must have these values.</summary>
    public IReadOnlyDictionary<string, string>? Query { get; init; }
    /// <summary>Holds from this instant on.</summary>
    public DateTimeOffset? After { get; init; }
    /// <summary>Holds until this instant.</summary>
    public DateTimeOffset? Before { get; init; }
}

/// <summary>A targeting rule: where a click whose request meets <see cref="When"/> goes.</summary>
public sealed record LinkRule
{
    public LinkRuleCondition? When { get; init; }
    public string? Url { get; init; }
}

/// <summary>An A/B variant: a destination and its share of the clicks no rule decided, in percent.</summary>
public sealed record LinkVariant
{
    public string? Url { get; init; }
    public int? Weight { get; init; }
}

/// <summary>What link-preview bots (Slack, X, LinkedIn, WhatsApp…) show for the short URL.</summary>
public sealed record LinkPreview
{
    public string? Title { get; init; }
    public string? Description { get; init; }
    /// <summary>An absolute http or https image URL.</summary>
    public string? Image { get; init; }
}

/// <summary>The body of <c>POST /api/v1/links</c> and <c>PUT /api/v1/links/external/{externalId}</c>. Only <see cref="Url"/> is required.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateLinkRequest
{
    /// <summary>Destination: absolute http or https.</summary>
    public string? Url { get; init; }
    /// <summary>Wanted slug; omitted: a random 7-character one.</summary>
    public string? Slug { get; init; }
    /// <summary>Short domain; default the host of Tern:BaseUrl.</summary>
    public string? Domain { get; init; }
    public UtmParameters? Utm { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    /// <summary>The caller's own id, unique in the workspace.</summary>
    public string? ExternalId { get; init; }
    public string? Title { get; init; }
    /// <summary>After this instant the link no longer goes to url.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>Where an expired or archived link goes instead; without it such a link answers 410.</summary>
    public string? ExpiredUrl { get; init; }
    /// <summary>After this many counted clicks the link behaves as expired.</summary>
    public long? MaxClicks { get; init; }
    /// <summary>301, 302 (default), 307 or 308.</summary>
    public int? RedirectType { get; init; }
    /// <summary>Default true: the short URL's own query string is appended to the destination.</summary>
    public bool? ForwardQuery { get; init; }
    /// <summary>Before this instant the link is not live: it goes to prelaunchUrl, or answers 404, and counts no click.</summary>
    public DateTimeOffset? StartsAt { get; init; }
    /// <summary>Where the link goes before startsAt.</summary>
    public string? PrelaunchUrl { get; init; }
    /// <summary>Targeting rules, first match wins (at most 50).</summary>
    public IReadOnlyList<LinkRule>? Rules { get; init; }
    /// <summary>A/B variants for clicks no rule decided; weights sum to 100.</summary>
    public IReadOnlyList<LinkVariant>? Variants { get; init; }
    /// <summary>The card link-preview bots get.</summary>
    public LinkPreview? Preview { get; init; }
    /// <summary>Write-only: visitors must give it before being redirected.</summary>
    public string? Password { get; init; }
    /// <summary>
    /// When the link was first made, for links moved from another system: an instant not in the future. Omitted: now.
    /// It applies when the link is created; a link that already exists keeps its own.
    /// </summary>
    public DateTimeOffset? CreatedAt { get; init; }
}

/// <summary>The body of <c>PATCH /api/v1/links/{id}</c>: absent fields stay, <c>null</c> clears.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateLinkRequest
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Url { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Slug { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Domain { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<UtmParameters?> Utm { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<IReadOnlyList<string>?> Tags { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> ExternalId { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Title { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<DateTimeOffset?> ExpiresAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> ExpiredUrl { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<long?> MaxClicks { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<int?> RedirectType { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<bool?> ForwardQuery { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<bool?> Archived { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<DateTimeOffset?> StartsAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> PrelaunchUrl { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<IReadOnlyList<LinkRule>?> Rules { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<IReadOnlyList<LinkVariant>?> Variants { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<LinkPreview?> Preview { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public Optional<string?> Password { get; init; }
}

/// <summary>A link as the API returns it.</summary>
public sealed record LinkResponse
{
    public required string Id { get; init; }
    public required string Domain { get; init; }
    public required string Slug { get; init; }
    public required string ShortUrl { get; init; }
    /// <summary>The final destination, UTM parameters merged.</summary>
    public required string Url { get; init; }
    public UtmParameters? Utm { get; init; }
    public required IReadOnlyList<string> Tags { get; init; }
    public string? ExternalId { get; init; }
    public string? Title { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? ExpiredUrl { get; init; }
    public long? MaxClicks { get; init; }
    public required int RedirectType { get; init; }
    public required bool ForwardQuery { get; init; }
    public required bool Archived { get; init; }
    public DateTimeOffset? StartsAt { get; init; }
    public string? PrelaunchUrl { get; init; }
    public IReadOnlyList<LinkRule>? Rules { get; init; }
    public IReadOnlyList<LinkVariant>? Variants { get; init; }
    public LinkPreview? Preview { get; init; }
    /// <summary>True when visitors must give a password (the password itself is never returned).</summary>
    public bool HasPassword { get; init; }
    public required long Clicks { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One page of a list, newest first; pass <see cref="NextCursor"/> as <c>?cursor=</c> for the next.</summary>
public sealed record ListResponse<T>(IReadOnlyList<T> Items, string? NextCursor);
