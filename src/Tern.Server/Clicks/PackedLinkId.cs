namespace Tern.Server.Clicks;

/// <summary>
/// A link id as the redirect path carries it: the 128 bits of its ULID (<c>lnk_</c> + 26 Crockford characters, see
/// <see cref="Hosting.Ids"/>) instead of a 30-character string, which would cost a cached link 88 bytes more. The text
/// is made only where it is needed: by the click writer (off the request path) and the paths that query storage. An id of another shape (imported,
/// hand-written) keeps its text, so that the text made back is always the stored one.
/// </summary>
public readonly struct PackedLinkId : IEquatable<PackedLinkId>
{
    private const string Prefix = "lnk_";
    private const int Length = 30;
    private const string Crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    // Two halves rather than one UInt128, whose 16-byte alignment would pad every click in the queue by 8 bytes.
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly string? _text;

    internal PackedLinkId(UInt128 bits, string? text) => (_high, _low, _text) = ((ulong)(bits >> 64), (ulong)bits, text);

    /// <summary>The packed form of a link id, or its text when it is not a ULID with the link prefix.</summary>
    public static PackedLinkId From(string id) => TryPack(id, out var bits) ? new(bits, null) : new(default, id);

    public static implicit operator PackedLinkId(string id) => From(id);

    /// <summary>The bits of a packed id; zero when the id kept its text.</summary>
    public UInt128 Bits => new(_high, _low);

    /// <summary>The text of an id that could not be packed; null for a packed one.</summary>
    public string? Text => _text;

    /// <summary>The id as stored: made anew (30 characters) for a packed id.</summary>
    public override string ToString() => _text ?? string.Create(Length, Bits, static (span, bits) =>
    {
        Prefix.AsSpan().CopyTo(span);
        for (var i = Length - 1; i >= Prefix.Length; i--, bits >>= 5)
        {
            span[i] = Crockford[(int)(bits & 31)];
        }
    });

    /// <summary>
    /// True for <c>lnk_</c> and 26 upper-case Crockford characters whose value fits in 128 bits (the first at most
    /// '7'); only those come back as the same text.
    /// </summary>
    private static bool TryPack(string id, out UInt128 bits)
    {
        bits = default;
        if (id.Length != Length || !id.StartsWith(Prefix, StringComparison.Ordinal) || id[Prefix.Length] > '7')
        {
            return false;
        }

        foreach (var c in id.AsSpan(Prefix.Length))
        {
            var value = Crockford.IndexOf(c, StringComparison.Ordinal);
            if (value < 0)
            {
                return false;
            }

            bits = (bits << 5) | (uint)value;
        }

        return true;
    }

    public bool Equals(PackedLinkId other) => _high == other._high && _low == other._low && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is PackedLinkId other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _text);

    public static bool operator ==(PackedLinkId left, PackedLinkId right) => left.Equals(right);

    public static bool operator !=(PackedLinkId left, PackedLinkId right) => !left.Equals(right);
}
