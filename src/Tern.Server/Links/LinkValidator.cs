using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>Turns a create request into a <see cref="LinkDefinition"/>, or into field errors naming every problem.</summary>
public sealed class LinkValidator(ShortDomains domains, TimeProvider timeProvider)
{
    public const int MaxTags = 32;
    public const int MaxTagLength = 64;
    public const int MaxExternalIdLength = 255;
    public const int MaxTitleLength = 500;

    public LinkDefinition? Validate(CreateLinkRequest request, Dictionary<string, string[]> errors)
    {
        // Checked in this order, so that the fields of an answer naming several problems keep their order.
        var baseUrl = CheckDestination(request.Url, errors);
        var domain = CheckAddress(request.Slug, request.Domain, errors);
        var utm = CheckUtm(request.Utm, errors);
        var tags = CheckTags(request.Tags, errors);
        CheckLabels(request.ExternalId, request.Title, errors);
        var expiredUrl = CheckExpiry(request.ExpiredUrl, request.MaxClicks, errors);
        if (request.RedirectType is not (null or 301 or 302 or 307 or 308))
        {
            Fail(errors, "redirectType", "redirectType must be 301, 302, 307 or 308.");
        }

        var smart = SmartLinkValidator.Check(request, errors);
        var createdAt = CheckCreatedAt(request.CreatedAt, errors);

        if (errors.Count > 0)
        {
            return null;
        }

        return new LinkDefinition
        {
            BaseUrl = baseUrl,
            Url = UtmMerge.Apply(baseUrl, utm),
            Slug = request.Slug,
            Domain = domain,
            DomainGiven = request.Domain is not null,
            Utm = utm,
            Tags = tags,
            ExternalId = request.ExternalId,
            Title = request.Title,
            ExpiresAt = request.ExpiresAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds()) : null,
            ExpiredUrl = expiredUrl,
            MaxClicks = request.MaxClicks,
            RedirectType = request.RedirectType,
            ForwardQuery = request.ForwardQuery,
            StartsAt = smart.StartsAt,
            PrelaunchUrl = smart.PrelaunchUrl,
            Rules = smart.Rules,
            Variants = smart.Variants,
            Preview = smart.Preview,
            Password = request.Password,
            CreatedAt = createdAt,
        };
    }

    /// <summary>A moved link's creation instant, to the millisecond: between 1970 and now.</summary>
    private DateTimeOffset? CheckCreatedAt(DateTimeOffset? requested, Dictionary<string, string[]> errors)
    {
        if (requested is not { } at)
        {
            return null;
        }

        var createdAt = DateTimeOffset.FromUnixTimeMilliseconds(at.ToUnixTimeMilliseconds());
        if (createdAt < DateTimeOffset.UnixEpoch || createdAt > Link.Now(timeProvider))
        {
            Fail(errors, "createdAt", "createdAt must be an instant between 1970-01-01T00:00:00Z and now; it is when a link moved from another system was first made.");
        }

        return createdAt;
    }

    private static void Fail(Dictionary<string, string[]> errors, string field, string message) => errors[field] = [message];

    /// <summary>The normalised destination.</summary>
    private string CheckDestination(string? url, Dictionary<string, string[]> errors)
    {
        if (!DestinationUrl.TryNormalize(url, out var baseUrl, out var urlError))
        {
            Fail(errors, "url", "url " + urlError);
        }
        else if (Uri.TryCreate(baseUrl, UriKind.Absolute, out var destination) && domains.IsOwn(destination))
        {
            Fail(errors, "url", $"url points at '{destination.Authority}', a short domain of this server; a link there would redirect to itself.");
        }

        return baseUrl;
    }

    /// <summary>The slug's form and the short domain it goes on; returns the domain, the default one when none is given.</summary>
    private string CheckAddress(string? slug, string? requestedDomain, Dictionary<string, string[]> errors)
    {
        if (slug is not null && SlugRules.Check(slug) is { } slugError)
        {
            Fail(errors, "slug", slugError);
        }

        var domain = domains.Default;
        if (requestedDomain is not null)
        {
            if (!ShortDomains.TryNormalize(requestedDomain, out domain))
            {
                Fail(errors, "domain", $"'{requestedDomain}' is not a host name.");
            }
            else if (!domains.IsServed(domain))
            {
                Fail(errors, "domain", $"'{domain}' is not a short domain of this server; configured: {string.Join(", ", [domains.Default, .. domains.Extra])}.");
            }
        }

        return domain;
    }

    private static UtmParameters? CheckUtm(UtmParameters? requested, Dictionary<string, string[]> errors)
    {
        var utm = Normalize(requested);
        if (utm is not null)
        {
            foreach (var (name, value) in UtmMerge.Parameters(utm))
            {
                if (value is not null && (value.Length > UtmMerge.MaxValueLength || value.Any(char.IsControl)))
                {
                    Fail(errors, $"utm.{name[4..]}", $"utm.{name[4..]} must be at most {UtmMerge.MaxValueLength} characters without control characters.");
                }
            }
        }

        return utm;
    }

    /// <summary>The tags trimmed and without repeats, or null when none were given.</summary>
    private static List<string>? CheckTags(IReadOnlyList<string>? requested, Dictionary<string, string[]> errors)
    {
        if (requested is null)
        {
            return null;
        }

        List<string> tags = [.. requested.Select(t => t?.Trim() ?? "").Distinct(StringComparer.Ordinal)];
        if (tags.Count > MaxTags)
        {
            Fail(errors, "tags", $"at most {MaxTags} tags per link.");
        }
        else if (tags.FirstOrDefault(t => t.Length is 0 or > MaxTagLength || t.Any(char.IsControl)) is { } bad)
        {
            Fail(errors, "tags", $"each tag must be 1 to {MaxTagLength} characters without control characters; '{bad}' is not.");
        }

        return tags;
    }

    /// <summary>What the caller names the link by: its externalId and title.</summary>
    private static void CheckLabels(string? externalId, string? title, Dictionary<string, string[]> errors)
    {
        if (externalId is not null
            && (externalId.Length is 0 or > MaxExternalIdLength || externalId.Any(c => char.IsControl(c) || c == '/')))
        {
            Fail(errors, "externalId", $"externalId must be 1 to {MaxExternalIdLength} characters without control characters or '/'.");
        }

        if (title is { Length: > MaxTitleLength })
        {
            Fail(errors, "title", $"title must be at most {MaxTitleLength} characters.");
        }
        else if (title is not null && title.Contains('\0', StringComparison.Ordinal))
        {
            Fail(errors, "title", "title contains U+0000 (NUL), which no field may hold.");
        }
    }

    /// <summary>Where an expired link goes, and after how many clicks it expires; returns the normalised expiredUrl.</summary>
    private static string? CheckExpiry(string? requestedExpiredUrl, long? maxClicks, Dictionary<string, string[]> errors)
    {
        string? expiredUrl = null;
        if (requestedExpiredUrl is not null && !DestinationUrl.TryNormalize(requestedExpiredUrl, out expiredUrl, out var expiredError))
        {
            Fail(errors, "expiredUrl", "expiredUrl " + expiredError);
        }

        if (maxClicks is < 1)
        {
            Fail(errors, "maxClicks", "maxClicks must be at least 1.");
        }

        return expiredUrl;
    }

    /// <summary>Empty strings count as absent, and an object with no value as no UTM at all.</summary>
    public static UtmParameters? Normalize(UtmParameters? utm)
    {
        if (utm is null)
        {
            return null;
        }

        var normalized = new UtmParameters
        {
            Source = NullIfEmpty(utm.Source),
            Medium = NullIfEmpty(utm.Medium),
            Campaign = NullIfEmpty(utm.Campaign),
            Term = NullIfEmpty(utm.Term),
            Content = NullIfEmpty(utm.Content),
        };
        return UtmMerge.IsEmpty(normalized) ? null : normalized;

        static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
    }
}
