using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Identity;
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

/// <summary>Visitors' passwords, hashed slowly (PBKDF2, ASP.NET Core's <see cref="PasswordHasher{TUser}"/>).</summary>
public static class LinkPasswords
{
    public const int MaxLength = 256;

    private static readonly PasswordHasher<Link> Hasher = new();

    public static string Hash(string password) => Hasher.HashPassword(null!, password);

    /// <summary>True when the link has a password and this is it. Slow on purpose (a hundred thousand PBKDF2 rounds).</summary>
    public static bool Verify(Link link, string password) => Verify(link.PasswordHash, password);

    public static bool Verify(string? hash, string password) =>
        hash is not null && Hasher.VerifyHashedPassword(null!, hash, password) != PasswordVerificationResult.Failed;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<LinkRule>))]
[JsonSerializable(typeof(IReadOnlyList<LinkVariant>))]
[JsonSerializable(typeof(LinkPreview))]
internal sealed partial class SmartLinkJsonContext : JsonSerializerContext;
