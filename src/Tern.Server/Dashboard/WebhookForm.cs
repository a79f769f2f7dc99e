using Tern.Contracts;
using Tern.Server.Events;

namespace Tern.Server.Dashboard;

/// <summary>The webhook form's fields as posted, turned into the API's own request bodies.</summary>
public sealed class WebhookForm
{
    public string? Url { get; set; }
    public string? Description { get; set; }
    public string[]? Events { get; set; }
    /// <summary>The tag filter, separated by commas.</summary>
    public string? Tags { get; set; }
    public bool IncludeBots { get; set; }
    /// <summary>Unset when the box is not ticked, since an unticked box is not posted.</summary>
    public bool Enabled { get; set; }

    /// <summary>A new endpoint's form: every event type ticked.</summary>
    public static WebhookForm New() => new() { Events = [.. EventTypes.All] };

    public static WebhookForm From(WebhookResponse webhook) => new()
    {
        Url = webhook.Url,
        Description = webhook.Description,
        Events = [.. webhook.Events],
        Tags = webhook.Filter?.Tags is { } tags ? string.Join(", ", tags) : null,
        IncludeBots = webhook.IncludeBots,
        Enabled = webhook.Enabled,
    };

    public CreateWebhookRequest ToCreate() => new()
    {
        Url = Blank(Url),
        Description = Blank(Description),
        Events = Events ?? [],
        Filter = Filter(linkIds: null),
        IncludeBots = IncludeBots,
    };

    /// <summary>Every field the form shows is set (an emptied one clears); the link-id filter, which it does not show, is kept.</summary>
    public UpdateWebhookRequest ToUpdate(WebhookResponse existing) => new()
    {
        Url = Blank(Url),
        Description = Blank(Description),
        Events = Events ?? [],
        Filter = Filter(existing.Filter?.LinkIds),
        IncludeBots = IncludeBots,
        Enabled = Enabled,
    };

    private WebhookFilter? Filter(IReadOnlyList<string>? linkIds)
    {
        string[] tags = [.. (Tags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];
        return tags.Length == 0 && linkIds is null ? null : new WebhookFilter { Tags = tags.Length == 0 ? null : tags, LinkIds = linkIds };
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
