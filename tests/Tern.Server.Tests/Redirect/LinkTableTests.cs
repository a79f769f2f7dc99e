using Tern.Server.Redirect;
using static Tern.Server.Tests.Redirect.TestLinks;

namespace Tern.Server.Tests.Redirect;

/// <summary>The cache's table of one domain's links: lookups by slug, replacement, removal, growth, eviction, concurrency.</summary>
public sealed class LinkTableTests
{
    [Fact]
    public void FindsALinkByItsSlugAndNothingForAnother()
    {
        var table = new LinkTable();
        var link = Cached("promo");

        Assert.True(table.Set(link));

        Assert.Same(link, table.Find("promo"));
        Assert.Null(table.Find("Promo"));
        Assert.Null(table.Find("promo2"));
        Assert.Null(table.Find(""));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void SettingALinkOfTheSameSlugPutsItInThePlaceOfTheOld()
    {
        var table = new LinkTable();
        table.Set(Cached("promo", "https://example.com/old"));
        var newer = Cached("promo", "https://example.com/new");

        Assert.False(table.Set(newer));

        Assert.Same(newer, table.Find("promo"));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void AddingKeepsTheLinkAlreadyThere()
    {
        var table = new LinkTable();
        var first = Cached("promo", "https://example.com/first");
        table.Set(first);

        Assert.False(table.TryAdd(Cached("promo", "https://example.com/second")));

        Assert.Same(first, table.Find("promo"));
    }

    [Fact]
    public void ARemovedLinkIsNotFoundWhileTheLinksProbedPastItStillAre()
    {
        // 12 links in 16 slots: most probes run through other links' slots.
        var table = new LinkTable();
        var slugs = Enumerable.Range(0, 12).Select(i => "s" + i).ToArray();
        foreach (var slug in slugs)
        {
            table.Set(Cached(slug));
        }

        Assert.Equal(16, table.Capacity);
        foreach (var removed in slugs.Where((_, i) => i % 2 == 0))
        {
            Assert.True(table.Remove(removed));
            Assert.False(table.Remove(removed));
        }

        Assert.All(slugs.Where((_, i) => i % 2 == 0), slug => Assert.Null(table.Find(slug)));
        Assert.All(slugs.Where((_, i) => i % 2 == 1), slug => Assert.Equal(slug, table.Find(slug)?.Slug));
        Assert.Equal(6, table.Count);
    }

    [Fact]
    public void GrowsAsLinksComeAndKeepsEveryOne()
    {
        var table = new LinkTable();
        var slugs = Enumerable.Range(0, 100_000).Select(i => "g" + i).ToArray();

        foreach (var slug in slugs)
        {
            Assert.True(table.Set(Cached(slug)));
        }

        Assert.Equal(100_000, table.Count);
        Assert.All(slugs, slug => Assert.Equal(slug, table.Find(slug)?.Slug));
        Assert.InRange(table.Capacity, 100_000 * 4 / 3, 100_000 * 4);
        Assert.Equal(slugs.Order(StringComparer.Ordinal), table.Links().Select(l => l.Slug).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LinksRemovedAndAddedAgainDoNotGrowTheTable()
    {
        var table = new LinkTable();
        for (var round = 0; round < 1000; round++)
        {
            for (var i = 0; i < 8; i++)
            {
                table.Set(Cached($"r{round}-{i}"));
            }

            for (var i = 0; i < 8; i++)
            {
                Assert.True(table.Remove($"r{round}-{i}"));
            }
        }

        Assert.Equal(0, table.Count);
        Assert.Equal(16, table.Capacity);
        Assert.Empty(table.Links());
    }

    [Fact]
    public void EvictionRemovesAsManyAsAskedAndTheNextEvictionOthers()
    {
        var table = new LinkTable();
        var slugs = Enumerable.Range(0, 1000).Select(i => "e" + i).ToArray();
        foreach (var slug in slugs)
        {
            table.Set(Cached(slug));
        }

        Assert.Equal(100, table.Evict(100));
        var afterFirst = table.Links().Select(l => l.Slug).ToHashSet();
        Assert.Equal(100, table.Evict(100));
        var afterSecond = table.Links().Select(l => l.Slug).ToHashSet();

        Assert.Equal(800, table.Count);
        Assert.Equal(900, afterFirst.Count);
        Assert.Equal(800, afterSecond.Count);
        Assert.Subset(afterFirst, afterSecond);
        Assert.All(slugs, slug => Assert.Equal(afterSecond.Contains(slug), table.Find(slug) is not null));
        Assert.Equal(800, table.Evict(10_000));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public async Task ReadersFindEveryLinkThatStaysWhileWritersAddReplaceAndRemoveOthersAndTheTableGrows()
    {
        var table = new LinkTable();
        var staying = Enumerable.Range(0, 2000).Select(i => Cached("stay" + i)).ToArray();
        foreach (var link in staying.Take(100))
        {
            table.Set(link);
        }

        using var done = new CancellationTokenSource();
        var wrong = 0;
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            var present = 100;
            var reads = 0;
            while (!done.IsCancellationRequested)
            {
                // A link stays once added: those added before this pass must be found, and only under their slug.
                var known = Volatile.Read(ref present);
                for (var i = 0; i < known; i++)
                {
                    if (!ReferenceEquals(table.Find(staying[i].Slug), staying[i]))
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }

                if (table.Find("churn" + (reads % 500)) is { } churned && churned.Slug != "churn" + (reads % 500))
                {
                    Interlocked.Increment(ref wrong);
                }

                reads++;
                present = Math.Max(present, Volatile.Read(ref _added));
            }
        })).ToArray();

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var slug = "churn" + ((i * 7 + w) % 500);
                switch (i % 3)
                {
                    case 0:
                        table.Set(Cached(slug, "https://example.com/" + i));
                        break;
                    case 1:
                        table.TryAdd(Cached(slug));
                        break;
                    default:
                        table.Remove(slug);
                        break;
                }

                // One writer also adds the links that stay, a few at a time, so the table grows under the readers.
                if (w == 0 && i % 10 == 0 && 100 + (i / 10) < staying.Length)
                {
                    table.Set(staying[100 + (i / 10)]);
                    Interlocked.Exchange(ref _added, 101 + (i / 10));
                }
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await done.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Equal(0, wrong);
        Assert.All(staying, link => Assert.Same(link, table.Find(link.Slug)));
        Assert.Equal(table.Count, table.Links().Count());
        Assert.Equal(staying.Length + Enumerable.Range(0, 500).Count(i => table.Find("churn" + i) is not null), table.Count);
    }

    private int _added = 100;
}
