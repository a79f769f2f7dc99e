using System.Text;

namespace Tern.Server.Redirect;

/// <summary>
/// The short URL's query as it may travel in a Location header. Kestrel refuses a response header holding a
/// control byte, DEL or a non-ASCII character, and a raw request target may carry any of them, so such characters
/// are percent-encoded (as UTF-8) before the click is counted. Cost model: an ordinary query (visible ASCII only) is
/// returned as the same span after one vectorised scan; only a query that needs encoding allocates.
/// </summary>
public static class ForwardedQuery
{
    /// <summary>The query (without its '?'), or a percent-encoded copy when it holds a character a header cannot.</summary>
    public static ReadOnlySpan<char> Safe(ReadOnlySpan<char> query) =>
        query.ContainsAnyExceptInRange('!', '~') ? Encode(query) : query;

    private static string Encode(ReadOnlySpan<char> query)
    {
        var builder = new StringBuilder(query.Length * 3);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < query.Length; i++)
        {
            var c = query[i];
            if (c is >= '!' and <= '~')
            {
                builder.Append(c);
                continue;
            }

            var length = char.IsHighSurrogate(c) && i + 1 < query.Length && char.IsLowSurrogate(query[i + 1])
                ? Encoding.UTF8.GetBytes(query.Slice(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(query.Slice(i, 1), utf8);
            foreach (var b in utf8[..length])
            {
                builder.Append('%').Append(HexDigits[b >> 4]).Append(HexDigits[b & 0xF]);
            }
        }

        return builder.ToString();
    }

    private const string HexDigits = "0123456789ABCDEF";
}
