using System.Security.Cryptography;

namespace Tern.Server.Hosting;

/// <summary>
/// Identifiers such as <c>lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P</c>: a type prefix and a ULID (48-bit millisecond time,
/// 80 random bits, Crockford base32), so that ordering by id is ordering by creation time.
/// </summary>
public static class Ids
{
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(string prefix, TimeProvider timeProvider) =>
        New(prefix, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());

    public static string New(string prefix, long unixMilliseconds)
    {
        Span<byte> random = stackalloc byte[16];
        RandomNumberGenerator.Fill(random);
        // The low 80 bits of a random 128-bit number; time takes the first 10 characters.
        var bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(random) & ((UInt128.One << 80) - 1);
        return string.Create(prefix.Length + 27, (prefix, time: (ulong)unixMilliseconds, bits), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            span[state.prefix.Length] = '_';
            var ulid = span[(state.prefix.Length + 1)..];
            var (time, bits) = (state.time, state.bits);
            for (var i = 9; i >= 0; i--, time >>= 5)
            {
                ulid[i] = Crockford[(int)(time & 31)];
            }

            for (var i = 25; i >= 10; i--, bits >>= 5)
            {
                ulid[i] = Crockford[(int)(bits & 31)];
            }
        });
    }

    /// <summary>True when <paramref name="value"/> has the shape of an id with this prefix.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> value, string prefix)
    {
        if (value.Length != prefix.Length + 27 || !value.StartsWith(prefix, StringComparison.Ordinal) || value[prefix.Length] != '_')
        {
            return false;
        }

        foreach (var c in value[(prefix.Length + 1)..])
        {
            if (!Crockford.Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
