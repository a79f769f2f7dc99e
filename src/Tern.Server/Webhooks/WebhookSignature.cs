using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Tern.Server.Webhooks;

/// <summary>
/// Standard Webhooks signatures: <c>v1,</c> + base64 HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c>, keyed by the
/// base64-decoded secret after <c>whsec_</c>. Cost: the returned string; the signed content and the key live on the
/// stack while under 1 KiB, above it the content goes to a pooled array. Keys are zeroed after use.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";
    public const string VersionPrefix = "v1,";

    /// <summary>The specification asks for keys of 24 to 64 bytes; Tern issues 32.</summary>
    public const int MinKeyBytes = 24;
    public const int MaxKeyBytes = 64;
    public const int NewKeyBytes = 32;

    private const int MacBytes = 32;
    private const int SignatureChars = 47; // "v1," + 44 base64 characters
    private const int StackLimit = 1024;
    private const int MaxTimestampDigits = 20;

    private static readonly SearchValues<char> Base64Characters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");

    /// <summary>A new secret: <c>whsec_</c> + base64 of 32 bytes from a cryptographic generator.</summary>
    public static string NewSecret()
    {
        Span<byte> key = stackalloc byte[NewKeyBytes];
        RandomNumberGenerator.Fill(key);
        var secret = SecretPrefix + Convert.ToBase64String(key);
        CryptographicOperations.ZeroMemory(key);
        return secret;
    }

    /// <summary><c>whsec_</c> followed by base64 of 24 to 64 bytes, nothing else (no white space).</summary>
    public static bool IsWellFormedSecret(string? secret)
    {
        Span<byte> key = stackalloc byte[MaxKeyBytes];
        var ok = TryDecodeKey(secret, key, out _);
        CryptographicOperations.ZeroMemory(key);
        return ok;
    }

    /// <summary>The <c>v1,</c> signature of one message under one secret.</summary>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is not well-formed.</exception>
    public static string Sign(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body) =>
        Header([secret], messageId, timestamp, body);

    /// <summary>
    /// The <c>webhook-signature</c> header value: one signature per secret, space-separated, in the order given
    /// (newest secret first, so during a rotation the old secret keeps signing beside the new one).
    /// </summary>
    /// <exception cref="ArgumentException">No secret, or one that is not well-formed.</exception>
    public static string Header(IReadOnlyList<string> secrets, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret is needed to sign a webhook.", nameof(secrets));
        }

        Span<byte> stack = stackalloc byte[StackLimit];
        var rented = WriteContent(messageId, timestamp, body, stack, out var length);
        try
        {
            ReadOnlySpan<byte> content = rented is null ? stack[..length] : rented.AsSpan(0, length);
            Span<byte> mac = stackalloc byte[MacBytes];
            var textLength = secrets.Count * (SignatureChars + 1) - 1;
            Span<char> text = textLength <= 512 ? stackalloc char[textLength] : new char[textLength];
            for (var i = 0; i < secrets.Count; i++)
            {
                ComputeMac(secrets[i], content, mac);
                var entry = text.Slice(i * (SignatureChars + 1), SignatureChars);
                VersionPrefix.CopyTo(entry);
                Convert.TryToBase64Chars(mac, entry[VersionPrefix.Length..], out _);
                if (i > 0)
                {
                    text[i * (SignatureChars + 1) - 1] = ' ';
                }
            }

            return new string(text);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// True when any space-separated <c>v1,</c> entry of <paramref name="signatureHeader"/> is the signature of
    /// this message under <paramref name="secret"/>, compared in constant time. Other versions, malformed entries
    /// and a missing header are not matches and never throw. The timestamp's freshness is the caller's to check.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is not well-formed.</exception>
    public static bool Verify(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body, string? signatureHeader)
    {
        Span<byte> expected = stackalloc byte[MacBytes];
        Span<byte> stack = stackalloc byte[StackLimit];
        var rented = WriteContent(messageId, timestamp, body, stack, out var length);
        try
        {
            ComputeMac(secret, rented is null ? stack[..length] : rented.AsSpan(0, length), expected);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        Span<byte> candidate = stackalloc byte[MacBytes];
        var matched = false;
        foreach (var range in signatureHeader.AsSpan().Split(' '))
        {
            // Every entry is compared, so the time taken does not reveal which one matched.
            if (TryDecodeSignature(signatureHeader.AsSpan(range), candidate) && CryptographicOperations.FixedTimeEquals(expected, candidate))
            {
                matched = true;
            }
        }

        return matched;
    }

    private static void ComputeMac(string secret, ReadOnlySpan<byte> content, Span<byte> mac)
    {
        Span<byte> key = stackalloc byte[MaxKeyBytes];
        try
        {
            if (!TryDecodeKey(secret, key, out var keyLength))
            {
                throw new ArgumentException(
                    $"A webhook secret is '{SecretPrefix}' followed by base64 of {MinKeyBytes} to {MaxKeyBytes} bytes.", nameof(secret));
            }

            HMACSHA256.HashData(key[..keyLength], content, mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Writes <c>{id}.{timestamp}.{body}</c> into <paramref name="stack"/>, or a pooled array (returned) when too long.</summary>
    private static byte[]? WriteContent(string messageId, long timestamp, ReadOnlySpan<byte> body, Span<byte> stack, out int length)
    {
        var capacity = checked(Encoding.UTF8.GetByteCount(messageId) + MaxTimestampDigits + 2 + body.Length);
        var rented = capacity <= stack.Length ? null : ArrayPool<byte>.Shared.Rent(capacity);
        var content = rented ?? stack;
        var written = Encoding.UTF8.GetBytes(messageId, content);
        content[written++] = (byte)'.';
        timestamp.TryFormat(content[written..], out var digits, default, CultureInfo.InvariantCulture);
        written += digits;
        content[written++] = (byte)'.';
        body.CopyTo(content[written..]);
        length = written + body.Length;
        return rented;
    }

    private static bool TryDecodeKey(string? secret, Span<byte> key, out int length)
    {
        length = 0;
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        // Convert would skip whitespace inside the base64; a secret with any is a copy-paste accident.
        var encoded = secret.AsSpan(SecretPrefix.Length);
        return !encoded.ContainsAnyExcept(Base64Characters)
            && Convert.TryFromBase64Chars(encoded, key, out length)
            && length >= MinKeyBytes;
    }

    private static bool TryDecodeSignature(ReadOnlySpan<char> entry, Span<byte> mac) =>
        entry.StartsWith(VersionPrefix, StringComparison.Ordinal)
        && entry.Length == SignatureChars
        && !entry[VersionPrefix.Length..].ContainsAnyExcept(Base64Characters)
        && Convert.TryFromBase64Chars(entry[VersionPrefix.Length..], mac, out var written)
        && written == MacBytes;
}
