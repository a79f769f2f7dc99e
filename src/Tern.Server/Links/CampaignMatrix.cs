using System.Numerics;
using System.Text;
using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>
/// A campaign matrix: one link template whose strings hold <c>{dimension}</c> placeholders, expanded over every
/// combination of the dimensions' values. Order is fixed: dimensions as given, the last one varying fastest, so
/// a re-run expands to the same links in the same order. Pure: no storage, no clock.
/// </summary>
public static class CampaignMatrix
{
    public const int MaxCombinations = 1000;
    public const int MaxDimensions = 10;

    /// <summary>The number of combinations: the product of the dimensions' sizes (exact, however large).</summary>
    public static BigInteger Combinations(IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> dimensions)
    {
        BigInteger product = 1;
        foreach (var (_, values) in dimensions)
        {
            product *= values?.Count ?? 0;
        }

        return product;
    }

    /// <summary>
    /// Checks the dimensions and the template's placeholders; errors name the field and the placeholder. Runs before
    /// <see cref="Expand"/>, which assumes a clean matrix.
    /// </summary>
    public static void Check(CreateLinkRequest template, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> dimensions,
        Dictionary<string, string[]> errors)
    {
        if (dimensions.Count == 0)
        {
            errors["dimensions"] = ["dimensions must name at least one dimension with its values."];
        }
        else if (dimensions.Count > MaxDimensions)
        {
            errors["dimensions"] = [$"at most {MaxDimensions} dimensions; this matrix has {dimensions.Count}."];
        }

        foreach (var (name, values) in dimensions)
        {
            if (!IsName(name))
            {
                errors[$"dimensions.{name}"] = [$"'{name}' is not a dimension name: use letters, digits, '_' and '-', starting with a letter or '_'."];
            }
            else if (values is null || values.Count == 0)
            {
                errors[$"dimensions.{name}"] = [$"dimension '{name}' needs at least one value."];
            }
            else if (values.Any(string.IsNullOrEmpty))
            {
                errors[$"dimensions.{name}"] = [$"the values of '{name}' must be non-empty strings."];
            }
            else if (values.GroupBy(v => v, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } repeated)
            {
                errors[$"dimensions.{name}"] = [$"dimension '{name}' repeats the value '{repeated.Key}'."];
            }
        }

        var known = dimensions.Select(d => d.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (field, text) in Strings(template))
        {
            var unknown = Placeholders(text).Where(p => !known.Contains(p)).Distinct(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                errors["template." + field] = [$"unknown placeholder {string.Join(", ", unknown.Select(u => "{" + u + "}"))} in {field}; the dimensions are {string.Join(", ", known)}."];
            }
        }
    }

    /// <summary>Every combination's values, in order: dimensions as given, the last varying fastest.</summary>
    public static IEnumerable<IReadOnlyDictionary<string, string>> Combine(IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> dimensions)
    {
        var total = (long)Combinations(dimensions);
        for (long n = 0; n < total; n++)
        {
            var values = new Dictionary<string, string>(dimensions.Count, StringComparer.Ordinal);
            var rest = n;
            for (var d = dimensions.Count - 1; d >= 0; d--)
            {
                var (name, choices) = dimensions[d];
                values[name] = choices[(int)(rest % choices.Count)];
                rest /= choices.Count;
            }

            yield return values;
        }
    }

    /// <summary>The template with every placeholder of every string field replaced by the combination's values.</summary>
    public static CreateLinkRequest Expand(CreateLinkRequest template, IReadOnlyDictionary<string, string> values)
    {
        string? Fill(string? text) => text is null ? null : Substitute(text, values);
        return template with
        {
            Url = Fill(template.Url),
            Slug = Fill(template.Slug),
            Domain = Fill(template.Domain),
            Title = Fill(template.Title),
            ExternalId = Fill(template.ExternalId),
            ExpiredUrl = Fill(template.ExpiredUrl),
            Tags = template.Tags?.Select(t => Fill(t)!).ToList(),
            Utm = template.Utm is null ? null : new UtmParameters
            {
                Source = Fill(template.Utm.Source),
                Medium = Fill(template.Utm.Medium),
                Campaign = Fill(template.Utm.Campaign),
                Term = Fill(template.Utm.Term),
                Content = Fill(template.Utm.Content),
            },
            PrelaunchUrl = Fill(template.PrelaunchUrl),
            Preview = template.Preview is null ? null
                : template.Preview with { Title = Fill(template.Preview.Title), Description = Fill(template.Preview.Description), Image = Fill(template.Preview.Image) },
            Rules = template.Rules?.Select(r => r is null ? null! : r with { Url = Fill(r.Url) }).ToList(),
            Variants = template.Variants?.Select(v => v is null ? null! : v with { Url = Fill(v.Url) }).ToList(),
        };
    }

    /// <summary>Replaces each <c>{name}</c> with its value; braces that do not enclose a name stay as they are.</summary>
    public static string Substitute(string text, IReadOnlyDictionary<string, string> values)
    {
        if (!text.Contains('{', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length + 32);
        var at = 0;
        foreach (var (start, length) in PlaceholderSpans(text))
        {
            result.Append(text, at, start - at);
            var name = text.Substring(start + 1, length - 2);
            result.Append(values.TryGetValue(name, out var value) ? value : text.Substring(start, length));
            at = start + length;
        }

        return result.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>The names of the placeholders in <paramref name="text"/>, in order.</summary>
    public static IEnumerable<string> Placeholders(string text) =>
        PlaceholderSpans(text).Select(span => text.Substring(span.Start + 1, span.Length - 2));

    private static List<(int Start, int Length)> PlaceholderSpans(string text)
    {
        var spans = new List<(int, int)>();
        for (var i = text.IndexOf('{', StringComparison.Ordinal); i >= 0 && i < text.Length; i = text.IndexOf('{', i + 1))
        {
            var end = text.IndexOf('}', i + 1);
            if (end > i + 1 && IsName(text.AsSpan(i + 1, end - i - 1)))
            {
                spans.Add((i, end - i + 1));
                i = end;
            }

            if (i + 1 >= text.Length)
            {
                break;
            }
        }

        return spans;
    }

    private static bool IsName(ReadOnlySpan<char> name) =>
        name.Length is > 0 and <= 64 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && !name.ContainsAnyExcept("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    private static IEnumerable<(string Field, string Text)> Strings(CreateLinkRequest template)
    {
        (string, string?)[] fields =
        [
            ("url", template.Url), ("slug", template.Slug), ("domain", template.Domain), ("title", template.Title),
            ("externalId", template.ExternalId), ("expiredUrl", template.ExpiredUrl),
            ("utm.source", template.Utm?.Source), ("utm.medium", template.Utm?.Medium), ("utm.campaign", template.Utm?.Campaign),
            ("utm.term", template.Utm?.Term), ("utm.content", template.Utm?.Content), ("prelaunchUrl", template.PrelaunchUrl),
            ("preview.title", template.Preview?.Title), ("preview.description", template.Preview?.Description),
            ("preview.image", template.Preview?.Image),
            .. (template.Rules ?? []).Select((r, i) => ($"rules[{i}].url", r?.Url)),
            .. (template.Variants ?? []).Select((v, i) => ($"variants[{i}].url", v?.Url)),
        ];
        foreach (var (field, text) in fields)
        {
            if (text is not null)
            {
                yield return (field, text);
            }
        }

        foreach (var tag in template.Tags ?? [])
        {
            if (tag is not null)
            {
                yield return ("tags", tag);
            }
        }
    }
}
