using System.Globalization;
using Tern.Contracts;
using Tern.Server.Links;

namespace Tern.Server.Dashboard;

/// <summary>The link form's fields as posted (all text), turned into the API's own request bodies.</summary>
public sealed class LinkForm
{
    public string? Url { get; set; }
    public string? Slug { get; set; }
    public string? Title { get; set; }
    public string? Tags { get; set; }
    public string? UtmSource { get; set; }
    public string? UtmMedium { get; set; }
    public string? UtmCampaign { get; set; }
    public string? UtmTerm { get; set; }
    public string? UtmContent { get; set; }
    /// <summary>A <c>datetime-local</c> value, read as UTC.</summary>
    public string? ExpiresAt { get; set; }
    public string? ExpiredUrl { get; set; }
    public string? MaxClicks { get; set; }
    public int RedirectType { get; set; } = 302;
    public string? Save { get; set; }

    /// <summary>The form for an existing link: its base URL (without the UTMs it merged) and its fields.</summary>
    public static LinkForm From(LinkResponse response, Link? link) => new()
    {
        Url = link?.BaseUrl ?? response.Url,
        Slug = response.Slug,
        Title = response.Title,
        Tags = string.Join(", ", response.Tags),
        UtmSource = response.Utm?.Source,
        UtmMedium = response.Utm?.Medium,
        UtmCampaign = response.Utm?.Campaign,
        UtmTerm = response.Utm?.Term,
        UtmContent = response.Utm?.Content,
        ExpiresAt = response.ExpiresAt?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture),
        ExpiredUrl = response.ExpiredUrl,
        MaxClicks = response.MaxClicks?.ToString(CultureInfo.InvariantCulture),
        RedirectType = response.RedirectType,
    };

    public UtmParameters? Utm()
    {
        var utm = new UtmParameters
        {
            Source = Blank(UtmSource),
            Medium = Blank(UtmMedium),
            Campaign = Blank(UtmCampaign),
            Term = Blank(UtmTerm),
            Content = Blank(UtmContent),
        };
        return UtmMerge.IsEmpty(utm) ? null : utm;
    }

    public string? FinalUrl() => Blank(Url) is { } url ? UtmMerge.Apply(url, Utm()) : null;

    public DateTimeOffset? ParseExpiresAt(Dictionary<string, string[]> errors)
    {
        if (Blank(ExpiresAt) is not { } text)
        {
            return null;
        }

        if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
        {
            return new DateTimeOffset(at, TimeSpan.Zero);
        }

        errors["expiresAt"] = ["Enter a date and time, e.g. 2030-01-31 18:00."];
        return null;
    }

    public long? ParseMaxClicks(Dictionary<string, string[]> errors)
    {
        if (Blank(MaxClicks) is not { } text)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        errors["maxClicks"] = ["Enter a whole number of clicks."];
        return null;
    }

    public CreateLinkRequest ToCreate(DateTimeOffset? expiresAt, long? maxClicks) => new()
    {
        Url = Blank(Url),
        Slug = Blank(Slug),
        Title = Blank(Title),
        Tags = TagList(),
        Utm = Utm(),
        ExpiresAt = expiresAt,
        ExpiredUrl = Blank(ExpiredUrl),
        MaxClicks = maxClicks,
        RedirectType = RedirectType,
    };

    /// <summary>Every field set: what the form shows is what the link becomes (an emptied field clears).</summary>
    public UpdateLinkRequest ToUpdate(DateTimeOffset? expiresAt, long? maxClicks) => new()
    {
        Url = Blank(Url),
        Slug = Blank(Slug),
        Title = Blank(Title),
        Tags = TagList(),
        Utm = Utm(),
        ExpiresAt = expiresAt,
        ExpiredUrl = Blank(ExpiredUrl),
        MaxClicks = maxClicks,
        RedirectType = RedirectType,
    };

    private List<string> TagList() =>
        [.. (Tags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
