using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>Turns a create request into a <see cref="LinkDefinition"/>, or into field errors naming every problem.</summary>
public sealed class LinkValidator(ShortDomains domains)
{
    public const int MaxTags = 32;
    public const int MaxTagLength = 64;
    public const int MaxExternalIdLength = 255;
    public const int MaxTitleLength = 500;

    public LinkDefinition? Validate(CreateLinkRequest request, Dictionary<string, string[]> errors)
    {
        void Fail(string field, string message) => errors[field] = [message];

        if (!DestinationUrl.TryNormalize(request.Url, out var baseUrl, out var urlError))
        {
            Fail("url", "url " + urlError);
        }

        if (request.Slug is not null && SlugRules.Check(request.Slug) is { } slugError)
        {
            Fail("slug", slugError);
        }

        var domain = domains.Default;
        if (request.Domain is not null)
        {
            if (!ShortDomains.TryNormalize(request.Domain, out domain))
            {
                Fail("domain", $"'{request.Domain}' is not a host name.");
            }
            else if (!domains.IsServed(domain))
            {
                Fail("domain", $"'{domain}' is not a short domain of this server; configured: {string.Join(", ", [domains.Default, .. domains.Extra])}.");
            }
        }

        var utm = Normalize(request.Utm);
        if (utm is not null)
        {
            foreach (var (name, value) in UtmMerge.Parameters(utm))
            {
                if (value is not null && (value.Length > UtmMerge.MaxValueLength || value.Any(char.IsControl)))
                {
                    Fail($"utm.{name[4..]}", $"utm.{name[4..]} must be at most {UtmMerge.MaxValueLength} characters without control characters.");
                }
            }
        }

        List<string>? tags = null;
        if (request.Tags is not null)
        {
            tags = [.. request.Tags.Select(t => t?.Trim() ?? "").Distinct(StringComparer.Ordinal)];
            if (tags.Count > MaxTags)
            {
                Fail("tags", $"at most {MaxTags} tags per link.");
            }
            else if (tags.FirstOrDefault(t => t.Length is 0 or > MaxTagLength || t.Any(char.IsControl)) is { } bad)
            {
                Fail("tags", $"each tag must be 1 to {MaxTagLength} characters without control characters; '{bad}' is not.");
            }
        }

        if (request.ExternalId is { } externalId
            && (externalId.Length is 0 or > MaxExternalIdLength || externalId.Any(c => char.IsControl(c) || c == '/')))
        {
            Fail("externalId", $"externalId must be 1 to {MaxExternalIdLength} characters without control characters or '/'.");
        }

        if (request.Title is { Length: > MaxTitleLength })
        {
            Fail("title", $"title must be at most {MaxTitleLength} characters.");
        }

        string? expiredUrl = null;
        if (request.ExpiredUrl is not null && !DestinationUrl.TryNormalize(request.ExpiredUrl, out expiredUrl, out var expiredError))
        {
            Fail("expiredUrl", "expiredUrl " + expiredError);
        }

        if (request.MaxClicks is < 1)
        {
            Fail("maxClicks", "maxClicks must be at least 1.");
        }

        if (request.RedirectType is not (null or 301 or 302 or 307 or 308))
        {
            Fail("redirectType", "redirectType must be 301, 302, 307 or 308.");
        }

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
        };
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
