using System.Collections.Concurrent;
using Tern.Server.Clicks;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

/// <summary>
/// What the redirect path needs of a link, precomputed so that answering allocates nothing. Kept small, since a
/// node may hold millions (80 bytes besides the slug and destination strings): the workspace and domain are one
/// reference to a pair shared by all their links, the id is held as its 128 bits, and what few links have (an expiry, a click limit, a smart route, an id
/// that is not a ULID) sits in one side object that a plain link leaves null.
/// </summary>
public sealed class CachedLink
{
    private readonly ulong _idHigh;
    private readonly ulong _idLow;
    private readonly Conditions? _conditions;
    private readonly Scope _scope;

    /// <summary>One of each (workspace, domain) pair, so that a link holds one reference for both.</summary>
    private static readonly ConcurrentDictionary<(string WorkspaceId, string Domain), Scope> Scopes = new();

    public CachedLink(Link link, ClickTally? tally)
    {
        var id = PackedLinkId.From(link.Id);
        (_idHigh, _idLow) = ((ulong)(id.Bits >> 64), (ulong)id.Bits);
        _scope = Scopes.GetOrAdd((link.WorkspaceId, link.Domain), static key => new Scope(key.WorkspaceId, key.Domain));
        Slug = link.Slug;
        SlugHash = HashOf(link.Slug);
        Destination = link.Url;
        RedirectType = (short)link.RedirectType;
        ForwardQuery = link.ForwardQuery;
        Archived = link.Archived;
        UpdatedAtMs = link.UpdatedAt.ToUnixTimeMilliseconds();
        var smart = SmartRoute.For(link);
        if (id.Text is not null || link.ExpiresAt is not null || link.ExpiredUrl is not null || link.MaxClicks is not null
            || tally is not null || smart is not null)
        {
            _conditions = new Conditions(id.Text, link.ExpiresAt?.ToUnixTimeMilliseconds() ?? long.MaxValue, link.ExpiredUrl,
                link.MaxClicks ?? long.MaxValue, tally, smart);
        }
    }

    /// <summary>The id's text, made anew on each call: for the paths that store or query it, never the redirect answer.</summary>
    public string Id => PackedId.ToString();

    /// <summary>The id as a click carries it: no allocation.</summary>
    public PackedLinkId PackedId => new(new UInt128(_idHigh, _idLow), _conditions?.IdText);

    public string WorkspaceId => _scope.WorkspaceId;
    public string Domain => _scope.Domain;
    public string Slug { get; }

    /// <summary>The slug's ordinal hash, which the cache's table probes with.</summary>
    internal int SlugHash { get; }

    public string Destination { get; }
    public short RedirectType { get; }
    public bool ForwardQuery { get; }
    public bool Archived { get; }

    /// <summary>The version of the link this was made from: every change that a redirect sees moves it.</summary>
    public long UpdatedAtMs { get; }

    public long ExpiresAtMs => _conditions?.ExpiresAtMs ?? long.MaxValue;
    public string? ExpiredUrl => _conditions?.ExpiredUrl;
    public long MaxClicks => _conditions?.MaxClicks ?? long.MaxValue;

    /// <summary>Only for links with a click limit.</summary>
    public ClickTally? Tally => _conditions?.Tally;

    /// <summary>Only for links with a smart field (go-live, rules, variants, preview, password).</summary>
    public SmartRoute? Smart => _conditions?.Smart;

    internal static int HashOf(ReadOnlySpan<char> slug) => string.GetHashCode(slug, StringComparison.Ordinal);

    /// <summary>
    /// The destination with the short URL's own query (without its '?') appended before the fragment. Where the
    /// fragment starts is found here rather than kept: this path allocates the new Location anyway.
    /// </summary>
    public string WithQuery(ReadOnlySpan<char> query)
    {
        var fragmentAt = Destination.IndexOf('#', StringComparison.Ordinal);
        var beforeFragment = fragmentAt < 0 ? Destination.AsSpan() : Destination.AsSpan(0, fragmentAt);
        var fragment = fragmentAt < 0 ? [] : Destination.AsSpan(fragmentAt);
        return string.Concat(beforeFragment, beforeFragment.Contains('?') ? "&" : "?", query, fragment);
    }

    private sealed record Scope(string WorkspaceId, string Domain);

    /// <summary>The fields most links leave empty.</summary>
    private sealed record Conditions(string? IdText, long ExpiresAtMs, string? ExpiredUrl, long MaxClicks, ClickTally? Tally, SmartRoute? Smart);
}
