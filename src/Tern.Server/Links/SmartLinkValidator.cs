using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>The smart fields of a create request, normalised so that validating them again changes nothing.</summary>
public readonly record struct SmartFields(
    DateTimeOffset? StartsAt, string? PrelaunchUrl, IReadOnlyList<LinkRule>? Rules, IReadOnlyList<LinkVariant>? Variants, LinkPreview? Preview);

/// <summary>
/// Checks go-live, targeting rules, A/B variants, the preview card and the password of a create request; every
/// destination is checked like <c>url</c>. Empty lists count as none.
/// </summary>
public static class SmartLinkValidator
{
    public const int MaxRules = 50;
    public const int MaxVariants = 10;
    public const int MaxValues = 50;
    public const int MaxQueryConditions = 10;
    public const int MaxPreviewTitle = 200;
    public const int MaxPreviewDescription = 1000;
    public const int MaxWordLength = 64;
    public const int MaxQueryLength = 512;

    public static readonly string[] Devices = ["desktop", "mobile", "tablet"];

    public static SmartFields Check(CreateLinkRequest request, Dictionary<string, string[]> errors)
    {
        string? prelaunchUrl = null;
        if (request.PrelaunchUrl is not null)
        {
            if (request.StartsAt is null)
            {
                Fail(errors, "prelaunchUrl", "prelaunchUrl needs startsAt.");
            }
            else if (!DestinationUrl.TryNormalize(request.PrelaunchUrl, out prelaunchUrl, out var error))
            {
                Fail(errors, "prelaunchUrl", "prelaunchUrl " + error);
            }
        }

        var rules = CheckRules(request.Rules, errors);
        var variants = CheckVariants(request.Variants, errors);
        var preview = CheckPreview(request.Preview, errors);
        if (request.Password is { } password && (password.Length is 0 or > LinkPasswords.MaxLength || password.Any(char.IsControl)))
        {
            Fail(errors, "password", $"password must be 1 to {LinkPasswords.MaxLength} characters without control characters.");
        }

        return new SmartFields(Milliseconds(request.StartsAt), prelaunchUrl, rules, variants, preview);
    }

    private static List<LinkRule>? CheckRules(IReadOnlyList<LinkRule>? requested, Dictionary<string, string[]> errors)
    {
        if (requested is null || requested.Count == 0)
        {
            return null;
        }

        if (requested.Count > MaxRules)
        {
            Fail(errors, "rules", $"at most {MaxRules} rules per link.");
            return null;
        }

        var rules = new List<LinkRule>(requested.Count);
        for (var i = 0; i < requested.Count; i++)
        {
            var field = $"rules[{i}]";
            if (requested[i] is not { } rule)
            {
                Fail(errors, field, $"{field} must be an object with url and when.");
                continue;
            }

            if (!DestinationUrl.TryNormalize(rule.Url, out var url, out var urlError))
            {
                Fail(errors, field + ".url", $"{field}.url {urlError}");
            }

            rules.Add(new LinkRule { When = CheckCondition(rule.When, field + ".when", errors), Url = url });
        }

        return rules;
    }

    private static LinkRuleCondition? CheckCondition(LinkRuleCondition? when, string field, Dictionary<string, string[]> errors)
    {
        if (when is null)
        {
            return null;
        }

        var device = Words(when.Device, field + ".device", errors, static d => Devices.Contains(d.ToLowerInvariant()) ? d.ToLowerInvariant() : null,
            "desktop, mobile or tablet");
        var os = Words(when.Os, field + ".os", errors, static o => o, "operating system names such as iOS or Android");
        var country = Words(when.Country, field + ".country", errors,
            static c => c.Length == 2 && char.IsAsciiLetter(c[0]) && char.IsAsciiLetter(c[1]) ? c.ToUpperInvariant() : null,
            "ISO 3166-1 alpha-2 codes such as DE");
        var language = Words(when.Language, field + ".language", errors,
            static l => l.Length is >= 2 and <= 35 && char.IsAsciiLetter(l[0]) && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? l : null,
            "language tags such as de or de-CH");
        Dictionary<string, string>? query = null;
        if (when.Query is { Count: > 0 })
        {
            if (when.Query.Count > MaxQueryConditions
                || when.Query.Any(p => p.Key.Length is 0 or > MaxQueryLength || p.Value is null || p.Value.Length > MaxQueryLength
                    || p.Key.Any(char.IsControl) || p.Value.Any(char.IsControl)))
            {
                Fail(errors, field + ".query", $"{field}.query holds at most {MaxQueryConditions} names, each 1 to {MaxQueryLength} characters with a value of at most {MaxQueryLength}, without control characters.");
            }
            else
            {
                query = when.Query.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            }
        }

        if (when.After is { } after && when.Before is { } before && after >= before)
        {
            Fail(errors, field + ".after", $"{field}.after must be before {field}.before.");
        }

        return new LinkRuleCondition
        {
            Device = device,
            Os = os,
            Country = country,
            Language = language,
            Query = query,
            After = Milliseconds(when.After),
            Before = Milliseconds(when.Before),
        };
    }

    /// <summary>A list of words, each normalised by <paramref name="normalize"/> (null: not allowed), without repeats; null when empty.</summary>
    private static List<string>? Words(
        IReadOnlyList<string>? values, string field, Dictionary<string, string[]> errors, Func<string, string?> normalize, string expected)
    {
        if (values is null || values.Count == 0)
        {
            return null;
        }

        var words = new List<string>(values.Count);
        foreach (var value in values)
        {
            var word = value is { Length: > 0 and <= MaxWordLength } && !value.Any(char.IsControl) ? normalize(value.Trim()) : null;
            if (word is null || values.Count > MaxValues)
            {
                Fail(errors, field, $"{field} must list at most {MaxValues} {expected}; '{value}' is not one.");
                return null;
            }

            if (!words.Contains(word, StringComparer.Ordinal))
            {
                words.Add(word);
            }
        }

        return words;
    }

    private static List<LinkVariant>? CheckVariants(IReadOnlyList<LinkVariant>? requested, Dictionary<string, string[]> errors)
    {
        if (requested is null || requested.Count == 0)
        {
            return null;
        }

        if (requested.Count > MaxVariants)
        {
            Fail(errors, "variants", $"at most {MaxVariants} variants per link.");
            return null;
        }

        var variants = new List<LinkVariant>(requested.Count);
        var sum = 0;
        for (var i = 0; i < requested.Count; i++)
        {
            var field = $"variants[{i}]";
            var variant = requested[i];
            if (!DestinationUrl.TryNormalize(variant?.Url, out var url, out var urlError))
            {
                Fail(errors, field + ".url", $"{field}.url {urlError}");
            }

            if (variant?.Weight is not (>= 0 and <= 100))
            {
                Fail(errors, field + ".weight", $"{field}.weight must be a whole number from 0 to 100.");
            }

            sum += variant?.Weight ?? 0;
            variants.Add(new LinkVariant { Url = url, Weight = variant?.Weight });
        }

        if (sum != 100 && !errors.Keys.Any(k => k.StartsWith("variants[", StringComparison.Ordinal)))
        {
            Fail(errors, "variants", $"the weights of variants must sum to 100, not {sum}.");
        }

        return variants;
    }

    private static LinkPreview? CheckPreview(LinkPreview? preview, Dictionary<string, string[]> errors)
    {
        if (preview is null)
        {
            return null;
        }

        if (preview.Title is not { Length: > 0 and <= MaxPreviewTitle } || preview.Title.Any(char.IsControl))
        {
            Fail(errors, "preview.title", $"preview.title must be 1 to {MaxPreviewTitle} characters without control characters.");
        }

        if (preview.Description is { } description && (description.Length > MaxPreviewDescription || description.Any(c => char.IsControl(c) && c != '\n')))
        {
            Fail(errors, "preview.description", $"preview.description must be at most {MaxPreviewDescription} characters without control characters.");
        }

        string? image = null;
        if (preview.Image is not null && !DestinationUrl.TryNormalize(preview.Image, out image, out var imageError))
        {
            Fail(errors, "preview.image", "preview.image " + imageError);
        }

        return new LinkPreview { Title = preview.Title, Description = string.IsNullOrEmpty(preview.Description) ? null : preview.Description, Image = image };
    }

    private static DateTimeOffset? Milliseconds(DateTimeOffset? at) =>
        at is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds()) : null;

    private static void Fail(Dictionary<string, string[]> errors, string field, string message) => errors[field] = [message];
}
