using System.Numerics;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

/// <summary>
/// The cached links of one domain by slug: an open-addressing table (linear probing) over an array of references to
/// the links themselves, keyed by each link's own <see cref="CachedLink.Slug"/> and <see cref="CachedLink.SlugHash"/>.
/// It costs 8 bytes a slot, 10 to 21 bytes a link, where a <c>ConcurrentDictionary</c> node and bucket cost about 60.
/// <para>
/// Readers take no lock and allocate nothing: they read the slot array once, then slots until the slug or an empty
/// slot. Writers take the table's lock. A removed link leaves a <see cref="Removed"/> marker, so that a reader
/// probing past it still reaches the links behind; markers count as used, and the table is rebuilt into a new array
/// (without them, at most half full) when used slots would pass three quarters. A rebuilt array is published whole,
/// and the old one is no longer written, so a reader holding it sees the table as it was at that moment. A reader
/// may miss a link being removed and added again meanwhile (it then reads storage) but never finds a link after
/// its removal has returned.
/// </para>
/// </summary>
internal sealed class LinkTable
{
    private const int MinCapacity = 16;

    /// <summary>What a removed link's slot holds, so that probes go on past it; never returned.</summary>
    private static readonly CachedLink Removed = new(new Link
    {
        Id = "",
        WorkspaceId = "",
        Domain = "",
        Slug = "",
        BaseUrl = "",
        Url = "",
        CreatedAt = default,
        UpdatedAt = default,
    }, null);

    private readonly Lock _gate = new();
    private CachedLink?[] _slots = new CachedLink?[MinCapacity];
    private int _count;
    private int _used;
    private int _evictFrom;

    public int Count => Volatile.Read(ref _count);

    /// <summary>The slots now: for tests and the figures of the benchmarks.</summary>
    internal int Capacity => Volatile.Read(ref _slots).Length;

    public CachedLink? Find(ReadOnlySpan<char> slug)
    {
        var hash = CachedLink.HashOf(slug);
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (int i = hash & mask, probed = 0; probed <= mask; i = (i + 1) & mask, probed++)
        {
            var link = Volatile.Read(ref slots[i]);
            if (link is null)
            {
                return null;
            }

            if (link.SlugHash == hash && slug.SequenceEqual(link.Slug) && !ReferenceEquals(link, Removed))
            {
                return link;
            }
        }

        return null;
    }

    /// <summary>Adds the link, or puts it in the place of the one with its slug; true when it was added.</summary>
    public bool Set(CachedLink link) => Put(link, replace: true);

    /// <summary>Adds the link unless one with its slug is there; true when it was added.</summary>
    public bool TryAdd(CachedLink link) => Put(link, replace: false);

    public bool Remove(string slug)
    {
        var hash = CachedLink.HashOf(slug);
        lock (_gate)
        {
            var slots = _slots;
            var at = IndexOf(slots, slug, hash, out _);
            if (at < 0)
            {
                return false;
            }

            Volatile.Write(ref slots[at], Removed);
            _count--;
            return true;
        }
    }

    /// <summary>
    /// Removes up to <paramref name="count"/> links, in slot order from where the last eviction stopped: slot order is
    /// hash order, as good as random here, and the next eviction does not fall on the links that just came in.
    /// Returns how many went.
    /// </summary>
    public int Evict(int count)
    {
        lock (_gate)
        {
            var slots = _slots;
            var removed = 0;
            var at = _evictFrom & (slots.Length - 1);
            for (var seen = 0; seen < slots.Length && removed < count; seen++, at = (at + 1) & (slots.Length - 1))
            {
                if (slots[at] is { } link && !ReferenceEquals(link, Removed))
                {
                    Volatile.Write(ref slots[at], Removed);
                    removed++;
                }
            }

            _evictFrom = at;
            _count -= removed;
            return removed;
        }
    }

    /// <summary>The links now held; a link added or removed meanwhile may or may not be among them.</summary>
    public IEnumerable<CachedLink> Links()
    {
        var slots = Volatile.Read(ref _slots);
        for (var i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) is { } link && !ReferenceEquals(link, Removed))
            {
                yield return link;
            }
        }
    }

    private bool Put(CachedLink link, bool replace)
    {
        lock (_gate)
        {
            var at = IndexOf(_slots, link.Slug, link.SlugHash, out var free);
            if (at >= 0)
            {
                if (replace)
                {
                    Volatile.Write(ref _slots[at], link);
                }

                return false;
            }

            if (_slots[free] is null)
            {
                if ((_used + 1) * 4L > _slots.Length * 3L)
                {
                    Rebuild(_count + 1);
                    IndexOf(_slots, link.Slug, link.SlugHash, out free);
                }

                _used++;
            }

            Volatile.Write(ref _slots[free], link);
            _count++;
            return true;
        }
    }

    /// <summary>
    /// Where the slug's link is, or -1; then <paramref name="free"/> is where it would go: the first removed slot on
    /// its probe, or the empty slot that ended it. Called under the lock, where slots are read plainly.
    /// </summary>
    private static int IndexOf(CachedLink?[] slots, string slug, int hash, out int free)
    {
        free = -1;
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var link = slots[i];
            if (link is null)
            {
                free = free < 0 ? i : free;
                return -1;
            }

            if (ReferenceEquals(link, Removed))
            {
                free = free < 0 ? i : free;
            }
            else if (link.SlugHash == hash && string.Equals(link.Slug, slug, StringComparison.Ordinal))
            {
                return i;
            }
        }
    }

    /// <summary>Copies the links into a new array at most half full for <paramref name="links"/>, then publishes it.</summary>
    private void Rebuild(int links)
    {
        var capacity = Math.Max(MinCapacity, (int)BitOperations.RoundUpToPowerOf2((uint)links * 2));
        var slots = new CachedLink?[capacity];
        var mask = capacity - 1;
        foreach (var link in _slots)
        {
            if (link is not null && !ReferenceEquals(link, Removed))
            {
                var i = link.SlugHash & mask;
                while (slots[i] is not null)
                {
                    i = (i + 1) & mask;
                }

                slots[i] = link;
            }
        }

        _used = _count;
        Volatile.Write(ref _slots, slots);
    }
}
