using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>A stored link. <see cref="Url"/> is the final destination: <see cref="BaseUrl"/> with <see cref="Utm"/> merged.</summary>
public sealed record Link
{
    public required string Id { get; init; }
    public required string WorkspaceId { get; init; }
    public required string Domain { get; init; }
    public required string Slug { get; init; }
    public required string BaseUrl { get; init; }
    public required string Url { get; init; }
    public UtmParameters? Utm { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? ExternalId { get; init; }
    public string? Title { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? ExpiredUrl { get; init; }
    public long? MaxClicks { get; init; }
    public int RedirectType { get; init; } = 302;
    public bool ForwardQuery { get; init; } = true;
    public bool Archived { get; init; }
    public DateTimeOffset? StartsAt { get; init; }
    public string? PrelaunchUrl { get; init; }
    /// <summary>Targeting rules with their destinations before UTM merging (as <see cref="BaseUrl"/>); null when none.</summary>
    public IReadOnlyList<LinkRule>? Rules { get; init; }
    /// <summary>A/B variants with their destinations before UTM merging; null when none.</summary>
    public IReadOnlyList<LinkVariant>? Variants { get; init; }
    public LinkPreview? Preview { get; init; }
    /// <summary>A PBKDF2 hash of the visitors' password (ASP.NET Core's <c>PasswordHasher</c> format), never returned.</summary>
    public string? PasswordHash { get; init; }
    public long Clicks { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The current instant to the millisecond, the precision links are stored with, so a link in hand equals the link read back.</summary>
    internal static DateTimeOffset Now(TimeProvider timeProvider) =>
        DateTimeOffset.FromUnixTimeMilliseconds(timeProvider.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>True when the fields a caller defines are equal (ids, counters and times aside).</summary>
    public bool SameDefinitionAs(Link other) =>
        Domain == other.Domain && Slug == other.Slug && Url == other.Url && BaseUrl == other.BaseUrl
        && Equals(Utm, other.Utm) && Tags.SequenceEqual(other.Tags) && ExternalId == other.ExternalId
        && Title == other.Title && ExpiresAt == other.ExpiresAt && ExpiredUrl == other.ExpiredUrl
        && MaxClicks == other.MaxClicks && RedirectType == other.RedirectType && ForwardQuery == other.ForwardQuery
        && Archived == other.Archived && StartsAt == other.StartsAt && PrelaunchUrl == other.PrelaunchUrl
        && SmartLinkJson.SameRules(Rules, other.Rules) && SmartLinkJson.SameVariants(Variants, other.Variants)
        && Equals(Preview, other.Preview) && PasswordHash == other.PasswordHash;
}

/// <summary>
/// A validated create request. Nullable members were not given; <see cref="Matches"/> compares only the
/// given ones, which is the rule for answering a repeated create with the existing link. A moved link's
/// <see cref="CreatedAt"/> is history rather than definition, so it never makes a repeat differ.
/// </summary>
public sealed record LinkDefinition
{
    public required string BaseUrl { get; init; }
    public required string Url { get; init; }
    public string? Slug { get; init; }
    public required string Domain { get; init; }
    public bool DomainGiven { get; init; }
    public UtmParameters? Utm { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public string? ExternalId { get; init; }
    public string? Title { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public string? ExpiredUrl { get; init; }
    public long? MaxClicks { get; init; }
    public int? RedirectType { get; init; }
    public bool? ForwardQuery { get; init; }
    public DateTimeOffset? StartsAt { get; init; }
    public string? PrelaunchUrl { get; init; }
    public IReadOnlyList<LinkRule>? Rules { get; init; }
    public IReadOnlyList<LinkVariant>? Variants { get; init; }
    public LinkPreview? Preview { get; init; }
    /// <summary>The password as given; only its hash is stored.</summary>
    public string? Password { get; init; }
    /// <summary>The creation instant a moved link keeps from the system it comes from; null: when it is made.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    public bool Matches(Link link) =>
        Url == link.Url
        && (Slug is null || Slug == link.Slug)
        && (!DomainGiven || Domain == link.Domain)
        && (Utm is null || Equals(Utm, link.Utm))
        && (Tags is null || Tags.ToHashSet(StringComparer.Ordinal).SetEquals(link.Tags))
        && (ExternalId is null || ExternalId == link.ExternalId)
        && (Title is null || Title == link.Title)
        && (ExpiresAt is null || ExpiresAt == link.ExpiresAt)
        && (ExpiredUrl is null || ExpiredUrl == link.ExpiredUrl)
        && (MaxClicks is null || MaxClicks == link.MaxClicks)
        && (RedirectType is null || RedirectType == link.RedirectType)
        && (ForwardQuery is null || ForwardQuery == link.ForwardQuery)
        && (StartsAt is null || StartsAt == link.StartsAt)
        && (PrelaunchUrl is null || PrelaunchUrl == link.PrelaunchUrl)
        && (Rules is null || SmartLinkJson.SameRules(Rules, link.Rules))
        && (Variants is null || SmartLinkJson.SameVariants(Variants, link.Variants))
        && (Preview is null || Equals(Preview, link.Preview))
        && (Password is null || LinkPasswords.Verify(link, Password));

    /// <summary>True when both define the same link: every field equal, tags as a set (how a batch spots a repeated item).</summary>
    public bool SameAs(LinkDefinition other) =>
        BaseUrl == other.BaseUrl && Url == other.Url && Slug == other.Slug && Domain == other.Domain
        && DomainGiven == other.DomainGiven && Equals(Utm, other.Utm)
        && (Tags is null ? other.Tags is null : other.Tags is not null && Tags.ToHashSet(StringComparer.Ordinal).SetEquals(other.Tags))
        && ExternalId == other.ExternalId && Title == other.Title && ExpiresAt == other.ExpiresAt && ExpiredUrl == other.ExpiredUrl
        && MaxClicks == other.MaxClicks && RedirectType == other.RedirectType && ForwardQuery == other.ForwardQuery
        && StartsAt == other.StartsAt && PrelaunchUrl == other.PrelaunchUrl && SmartLinkJson.SameRules(Rules, other.Rules)
        && SmartLinkJson.SameVariants(Variants, other.Variants) && Equals(Preview, other.Preview) && Password == other.Password
        && CreatedAt == other.CreatedAt;

    /// <summary>The link this definition creates, with omitted fields at their defaults.</summary>
    public Link ToLink(string id, string workspaceId, string slug, DateTimeOffset now) => new()
    {
        Id = id,
        WorkspaceId = workspaceId,
        Domain = Domain,
        Slug = slug,
        BaseUrl = BaseUrl,
        Url = Url,
        Utm = Utm,
        Tags = Tags ?? [],
        ExternalId = ExternalId,
        Title = Title,
        ExpiresAt = ExpiresAt,
        ExpiredUrl = ExpiredUrl,
        MaxClicks = MaxClicks,
        RedirectType = RedirectType ?? 302,
        ForwardQuery = ForwardQuery ?? true,
        StartsAt = StartsAt,
        PrelaunchUrl = PrelaunchUrl,
        Rules = Rules,
        Variants = Variants,
        Preview = Preview,
        PasswordHash = Password is null ? null : LinkPasswords.Hash(Password),
        CreatedAt = CreatedAt ?? now,
        UpdatedAt = now,
    };
}
