using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

public enum CacheLookup
{
    /// <summary>Not in the cache: storage must be asked.</summary>
    Unknown,
    /// <summary>Storage recently said no such link exists.</summary>
    Missing,
    Found,
}

/// <summary>
/// The in-process map from (domain, slug) to <see cref="CachedLink"/> that serves redirects without storage: a
/// <see cref="LinkTable"/> per domain. Lookups take spans, take no lock and allocate nothing. Unknown slugs are remembered for <c>Tern:Cache:MissSeconds</c>,
/// so that a flood of random slugs cannot reach the database. Every link change calls <see cref="Invalidate"/>,
/// every creation <see cref="ForgetMiss"/>, and a link this node created is cached at once (<see cref="Warm"/>). A
/// load that raced with a change of its own domain and slug is used once but not cached. Races are told by change
/// counters in stripes hashed from (domain, slug), so a change of one link never stops another from being cached,
/// and telling costs no allocation.
/// </summary>
public sealed class LinkCache(LinkStore store, ClickTallies tallies, IOptions<LinkCacheOptions> options, TimeProvider timeProvider)
    : ILinkChangeObserver
{
    private readonly ConcurrentDictionary<string, DomainEntries> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly LinkCacheOptions _options = options.Value;
    private readonly SemaphoreSlim _loads = new(options.Value.ConcurrentLoads);
    private const int StripeCount = 1024;

    // Per stripe: changes (which make a loaded link or miss stale) and creations (which make only a miss stale).
    private readonly long[] _changes = new long[StripeCount];
    private readonly long[] _creations = new long[StripeCount];

    // Per stripe, and for the whole cache: when (Unix ms) a link was last invalidated, or everything cleared. A link
    // just created is cached only if nothing of its stripe changed since its creation began.
    private readonly long[] _changedAt = new long[StripeCount];
    private long _clearedAt;
    private long _clears;
    private long _storageReads;
    private int _linkCount;
    private int _missCount;

    public int Count => Volatile.Read(ref _linkCount);

    /// <summary>How many times a redirect had to read storage (cache misses); hits never do.</summary>
    public long StorageReads => Volatile.Read(ref _storageReads);

    public CacheLookup Lookup(ReadOnlySpan<char> domain, ReadOnlySpan<char> slug, out CachedLink? link)
    {
        link = null;
        if (!_domains.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(domain, out var entries))
        {
            return CacheLookup.Unknown;
        }

        if ((link = entries.Links.Find(slug)) is not null)
        {
            return CacheLookup.Found;
        }

        if (entries.Misses.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(slug, out var until)
            && timeProvider.GetUtcNow().ToUnixTimeMilliseconds() < until)
        {
            return CacheLookup.Missing;
        }

        return CacheLookup.Unknown;
    }

    /// <summary>Reads the link from storage and caches what it found, or that nothing was found.</summary>
    public async Task<CachedLink?> LoadAsync(string domain, string slug, CancellationToken cancellationToken)
    {
        var stripe = StripeOf(domain, slug);
        var clears = Volatile.Read(ref _clears);
        var changes = Volatile.Read(ref _changes[stripe]);
        var creations = Volatile.Read(ref _creations[stripe]);
        Interlocked.Increment(ref _storageReads);
        Link? link;
        await _loads.WaitAsync(cancellationToken);
        try
        {
            link = await store.FindBySlugAsync(domain, slug, cancellationToken);
        }
        finally
        {
            _loads.Release();
        }

        var cached = link is null ? null : ToCached(link);
        var stale = clears != Volatile.Read(ref _clears)
            || changes != Volatile.Read(ref _changes[stripe])
            || (cached is null && creations != Volatile.Read(ref _creations[stripe]));
        if (stale)
        {
            return cached;
        }

        var entries = Entries(domain);
        if (cached is null)
        {
            if (_options.MissSeconds > 0)
            {
                if (Interlocked.Increment(ref _missCount) > _options.MaxMisses)
                {
                    ClearMisses();
                }

                entries.Misses[slug] = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() + (long)(_options.MissSeconds * 1000);
            }

            return null;
        }

        if (entries.Links.Set(cached))
        {
            Counted(entries);
        }

        return cached;
    }

    /// <summary>
    /// Caches a link this node has just created (its transaction committed), so that its first redirect reads no
    /// storage: the send-time workload creates a link and has it clicked moments later. It is left out when its
    /// stripe saw a change (or the cache was cleared) since the link's creation began, since that change may be of this
    /// very link (a load then reads it), and removed again if one comes while it is being added.
    /// </summary>
    public void Warm(Link link)
    {
        var stripe = StripeOf(link.Domain, link.Slug);
        var since = link.CreatedAt.ToUnixTimeMilliseconds();
        if (!_options.WarmOnCreate || ChangedSince(stripe, since))
        {
            return;
        }

        var entries = Entries(link.Domain);
        if (!entries.Links.TryAdd(ToCached(link)))
        {
            return;
        }

        Counted(entries);
        if (ChangedSince(stripe, since) && entries.Links.Remove(link.Slug))
        {
            Interlocked.Decrement(ref _linkCount);
        }
    }

    /// <summary>What the redirect path keeps of a link; only a link with a click limit carries a tally.</summary>
    private CachedLink ToCached(Link link) => new(link, link.MaxClicks is null ? null : tallies.For(link.Id, link.Clicks));

    private bool ChangedSince(int stripe, long since) =>
        Volatile.Read(ref _changedAt[stripe]) >= since || Volatile.Read(ref _clearedAt) >= since;

    private DomainEntries Entries(string domain) => _domains.GetOrAdd(domain, static _ => new DomainEntries());

    private void Counted(DomainEntries entries)
    {
        if (Interlocked.Increment(ref _linkCount) > _options.MaxLinks)
        {
            Evict(entries);
        }
    }

    /// <summary>Forgets whatever is cached for this domain and slug; called after every committed link change.</summary>
    public void Invalidate(string domain, string slug)
    {
        var stripe = StripeOf(domain, slug);
        Interlocked.Increment(ref _changes[stripe]);
        Interlocked.Exchange(ref _changedAt[stripe], timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        if (_domains.TryGetValue(domain, out var entries))
        {
            if (entries.Links.Remove(slug))
            {
                Interlocked.Decrement(ref _linkCount);
            }

            entries.Misses.TryRemove(slug, out _);
        }
    }

    /// <summary>
    /// A link was created: forgets only that the slug was unknown. A cached link of that domain and slug can only
    /// have been read after the creation committed, so it stays, and so does one a load in flight finds; a miss a
    /// load in flight finds is not remembered (it may have been read before the creation).
    /// </summary>
    public void ForgetMiss(string domain, string slug)
    {
        Interlocked.Increment(ref _creations[StripeOf(domain, slug)]);
        if (_domains.TryGetValue(domain, out var entries))
        {
            entries.Misses.TryRemove(slug, out _);
        }
    }

    void ILinkChangeObserver.OnCreated(Link link)
    {
        ForgetMiss(link.Domain, link.Slug);
        Warm(link);
    }

    void ILinkChangeObserver.OnChanged(Link before, Link after)
    {
        Invalidate(before.Domain, before.Slug);
        Invalidate(after.Domain, after.Slug);
    }

    void ILinkChangeObserver.OnDeleted(Link link) => Invalidate(link.Domain, link.Slug);

    /// <summary>Drops everything; the next request for each link reloads it.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _clears);
        Interlocked.Exchange(ref _clearedAt, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        _domains.Clear();
        Interlocked.Exchange(ref _linkCount, 0);
        Interlocked.Exchange(ref _missCount, 0);
    }

    /// <summary>
    /// Brings the cache up to date after a time in which changes may have gone unheard (PostgreSQL's change listener
    /// reconnecting), dropping only what changed: links deleted, moved or edited since they were cached (by
    /// <c>updated_at</c>), links with a click limit (other nodes' clicks move it), and every remembered miss (links
    /// created meanwhile). Loads in flight are not cached, as after <see cref="Clear"/>. Returns how many links were
    /// dropped and how many kept.
    /// </summary>
    public async Task<(int Dropped, int Kept)> RevalidateAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _clears);
        ClearMisses();
        var unlimited = new List<CachedLink>(Count);
        var dropped = 0;
        foreach (var entries in _domains.Values)
        {
            foreach (var link in entries.Links.Links())
            {
                if (link.Tally is null)
                {
                    unlimited.Add(link);
                }
                else
                {
                    Invalidate(link.Domain, link.Slug);
                    dropped++;
                }
            }
        }

        var kept = 0;
        foreach (var chunk in unlimited.Chunk(RevalidationChunk))
        {
            var versions = await store.FindVersionsAsync([.. chunk.Select(l => l.Id)], cancellationToken);
            foreach (var link in chunk)
            {
                if (versions.TryGetValue(link.Id, out var now) && now.UpdatedAtMs == link.UpdatedAtMs && now.Slug == link.Slug
                    && string.Equals(now.Domain, link.Domain, StringComparison.OrdinalIgnoreCase))
                {
                    kept++;
                }
                else
                {
                    Invalidate(link.Domain, link.Slug);
                    dropped++;
                }
            }
        }

        return (dropped, kept);
    }

    private const int RevalidationChunk = 5_000;

    // Domains compare without case, slugs with it, as in the maps.
    internal static int StripeOf(string domain, string slug) =>
        (int)((uint)HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(domain), slug.GetHashCode(StringComparison.Ordinal)) % StripeCount);

    private void ClearMisses()
    {
        foreach (var entries in _domains.Values)
        {
            entries.Misses.Clear();
        }

        Interlocked.Exchange(ref _missCount, 0);
    }

    // Over capacity, a tenth of the domain's links go.
    private void Evict(DomainEntries entries) =>
        Interlocked.Add(ref _linkCount, -entries.Links.Evict(Math.Max(1, entries.Links.Count / 10)));

    private sealed class DomainEntries
    {
        public LinkTable Links { get; } = new();

        public ConcurrentDictionary<string, long> Misses { get; } = new(StringComparer.Ordinal);
    }
}
