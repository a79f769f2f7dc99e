using System.Text.Json;
using System.Text.Json.Serialization;
using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>How the smart fields of a link (rules, variants, preview) are stored: compact JSON, and compared as such.</summary>
public static class SmartLinkJson
{
    public static string? Rules(IReadOnlyList<LinkRule>? rules) =>
        rules is null ? null : JsonSerializer.Serialize(rules, SmartLinkJsonContext.Default.IReadOnlyListLinkRule);

    public static IReadOnlyList<LinkRule>? Rules(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, SmartLinkJsonContext.Default.IReadOnlyListLinkRule);

    public static string? Variants(IReadOnlyList<LinkVariant>? variants) =>
        variants is null ? null : JsonSerializer.Serialize(variants, SmartLinkJsonContext.Default.IReadOnlyListLinkVariant);

    public static IReadOnlyList<LinkVariant>? Variants(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, SmartLinkJsonContext.Default.IReadOnlyListLinkVariant);

    public static string? Preview(LinkPreview? preview) =>
        preview is null ? null : JsonSerializer.Serialize(preview, SmartLinkJsonContext.Default.LinkPreview);

    public static LinkPreview? Preview(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, SmartLinkJsonContext.Default.LinkPreview);

    // Records holding lists compare the lists by reference, so definitions compare by their stored form.
    public static bool SameRules(IReadOnlyList<LinkRule>? a, IReadOnlyList<LinkRule>? b) => Rules(a) == Rules(b);

    public static bool SameVariants(IReadOnlyList<LinkVariant>? a, IReadOnlyList<LinkVariant>? b) => Variants(a) == Variants(b);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<LinkRule>))]
[JsonSerializable(typeof(IReadOnlyList<LinkVariant>))]
[JsonSerializable(typeof(LinkPreview))]
internal sealed partial class SmartLinkJsonContext : JsonSerializerContext;
