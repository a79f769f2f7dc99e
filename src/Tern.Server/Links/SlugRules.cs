using System.Buffers;
using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Tern.Server.Links;

/// <summary>
/// Slugs are 1–64 of <c>A-Z a-z 0-9 - _</c>, case-sensitive, and never a word the server routes itself.
/// Reserved words are compared case-insensitively because ASP.NET Core matches routes that way.
/// </summary>
public static class SlugRules
{
    public const int MaxLength = 64;
    public const int RandomLength = 7;

    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static readonly SearchValues<char> Allowed = SearchValues.Create(Base62 + "-_");

    private static readonly FrozenSet<string> Reserved = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "api", "healthz", "readyz", "openapi", "dashboard", "static", "docs", "problems", "scalar", "metrics",
        "admin", "assets", "favicon", "robots", "_framework", "_content", "well-known", "login", "logout");

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> ReservedLookup =
        Reserved.GetAlternateLookup<ReadOnlySpan<char>>();

    public static IEnumerable<string> ReservedWords => Reserved;

    /// <summary>Shape only: length and alphabet. Used on the redirect path, allocation-free.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> slug) =>
        slug.Length is >= 1 and <= MaxLength && !slug.ContainsAnyExcept(Allowed);

    public static bool IsReserved(ReadOnlySpan<char> slug) => ReservedLookup.Contains(slug);

    /// <summary>Null when <paramref name="slug"/> may be used, else why not.</summary>
    public static string? Check(string slug)
    {
        if (slug.Length is 0 or > MaxLength)
        {
            return $"slug must be 1 to {MaxLength} characters long.";
        }

        var bad = slug.AsSpan().IndexOfAnyExcept(Allowed);
        if (bad >= 0)
        {
            return $"slug may hold only A-Z, a-z, 0-9, '-' and '_'; '{slug[bad]}' at position {bad + 1} is not allowed.";
        }

        return IsReserved(slug) ? $"'{slug}' is a reserved word and cannot be a slug." : null;
    }

    /// <summary>A random slug from a cryptographic generator (62^7 ≈ 3.5 × 10^12 values).</summary>
    public static string Random(int length = RandomLength)
    {
        while (true)
        {
            var slug = RandomNumberGenerator.GetString(Base62, length);
            if (!IsReserved(slug))
            {
                return slug;
            }
        }
    }
}
