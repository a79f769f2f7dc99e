using Tern.Server.Links;

namespace Tern.Server.Tests.Links;

public sealed class SlugRulesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("Summer-Sale_2026")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void AcceptsSlugsOfTheAllowedAlphabetAndLength(string slug) => Assert.Null(SlugRules.Check(slug));

    [Theory]
    [InlineData("", "1 to 64")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234", "1 to 64")]
    [InlineData("has space", "' ' at position 4")]
    [InlineData("dot.ted", "'.' at position 4")]
    [InlineData("slash/ed", "'/'")]
    [InlineData("ümlaut", "'ü'")]
    [InlineData("api", "reserved")]
    [InlineData("API", "reserved")]
    [InlineData("Healthz", "reserved")]
    [InlineData("openapi", "reserved")]
    [InlineData("dashboard", "reserved")]
    [InlineData("static", "reserved")]
    [InlineData("docs", "reserved")]
    public void RefusesBadSlugsNamingTheReason(string slug, string reason)
    {
        var error = SlugRules.Check(slug);
        Assert.NotNull(error);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void RandomSlugsAreSevenCharactersOfTheAllowedAlphabetAndDiffer()
    {
        var slugs = Enumerable.Range(0, 10_000).Select(_ => SlugRules.Random()).ToList();
        Assert.All(slugs, s => Assert.Null(SlugRules.Check(s)));
        Assert.All(slugs, s => Assert.Equal(7, s.Length));
        Assert.Equal(slugs.Count, slugs.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void WellFormedCheckIsShapeOnly()
    {
        Assert.True(SlugRules.IsWellFormed("api"));
        Assert.False(SlugRules.IsWellFormed("favicon.ico"));
        Assert.False(SlugRules.IsWellFormed(""));
    }
}
