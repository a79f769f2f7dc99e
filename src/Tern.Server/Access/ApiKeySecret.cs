using System.Security.Cryptography;
using System.Text;

namespace Tern.Server.Access;

/// <summary>
/// API key secrets: <c>tern_</c> and 32 base62 characters (about 190 bits). Only the SHA-256 of a key is
/// stored; a slow hash would add nothing against guessing at this entropy and would cost every request.
/// </summary>
public static class ApiKeySecret
{
    public const string Prefix = "tern_";
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string Generate() => Prefix + RandomNumberGenerator.GetString(Alphabet, 32);

    /// <summary>The part of a key shown in lists so that a person can tell keys apart.</summary>
    public static string DisplayPrefix(string key) => key[..Math.Min(key.Length, Prefix.Length + 6)];

    public static string Hash(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>True when <paramref name="key"/> could be a key at all (shape only).</summary>
    public static bool IsWellFormed(string key) =>
        key.Length is >= 21 and <= 200 && key.StartsWith(Prefix, StringComparison.Ordinal)
        && key.AsSpan(Prefix.Length).IndexOfAnyExcept(Alphabet + "-_") < 0;
}
