using Tern.Contracts;
using Tern.Server.Links;

namespace Tern.Server.Tests.Links;

public sealed class CampaignMatrixTests
{
    private static List<KeyValuePair<string, IReadOnlyList<string>>> Dimensions(params (string Name, string[] Values)[] dimensions) =>
        [.. dimensions.Select(d => KeyValuePair.Create(d.Name, (IReadOnlyList<string>)d.Values))];

    [Fact]
    public void CombinesDimensionsInTheGivenOrderWithTheLastVaryingFastest()
    {
        var combinations = CampaignMatrix.Combine(Dimensions(("brand", ["a", "b"]), ("channel", ["x", "y", "z"])))
            .Select(c => c["brand"] + c["channel"]);

        Assert.Equal(["ax", "ay", "az", "bx", "by", "bz"], combinations);
    }

    [Fact]
    public void CountsCombinationsExactlyEvenPastAnyLimit()
    {
        var huge = Dimensions([.. Enumerable.Range(0, 10).Select(i => ($"d{i}", Enumerable.Range(0, 1000).Select(v => $"v{v}").ToArray()))]);

        Assert.Equal(System.Numerics.BigInteger.Pow(1000, 10), CampaignMatrix.Combinations(huge));
        Assert.Equal(200, CampaignMatrix.Combinations(Dimensions(("a", new string[5]), ("b", new string[10]), ("c", new string[4]))));
    }

    [Fact]
    public void SubstitutesEveryStringFieldIncludingUtmAndTags()
    {
        var template = new CreateLinkRequest
        {
            Url = "https://{brand}.example/{channel}",
            Slug = "{brand}-{channel}",
            Domain = "{brand}.test",
            Title = "{brand}: {channel}",
            ExternalId = "ext-{brand}-{channel}",
            ExpiredUrl = "https://{brand}.example/over",
            Tags = ["{brand}", "fixed"],
            Utm = new UtmParameters { Source = "{channel}", Medium = "m", Campaign = "c-{brand}", Term = "{brand}", Content = "{channel}" },
            MaxClicks = 5,
        };

        var link = CampaignMatrix.Expand(template, new Dictionary<string, string> { ["brand"] = "acme", ["channel"] = "sms" });

        Assert.Equal("https://acme.example/sms", link.Url);
        Assert.Equal("acme-sms", link.Slug);
        Assert.Equal("acme.test", link.Domain);
        Assert.Equal("acme: sms", link.Title);
        Assert.Equal("ext-acme-sms", link.ExternalId);
        Assert.Equal("https://acme.example/over", link.ExpiredUrl);
        Assert.Equal(["acme", "fixed"], link.Tags);
        Assert.Equal(new UtmParameters { Source = "sms", Medium = "m", Campaign = "c-acme", Term = "acme", Content = "sms" }, link.Utm);
        Assert.Equal(5, link.MaxClicks);
    }

    [Theory]
    [InlineData("{a}{a}", "xx")]
    [InlineData("{ a }", "{ a }")]
    [InlineData("{}", "{}")]
    [InlineData("{{a}}", "{x}")]
    [InlineData("tail {", "tail {")]
    [InlineData("{a", "{a")]
    [InlineData("no placeholders", "no placeholders")]
    public void LeavesBracesThatEncloseNoNameAsTheyAre(string text, string expected) =>
        Assert.Equal(expected, CampaignMatrix.Substitute(text, new Dictionary<string, string> { ["a"] = "x" }));

    [Fact]
    public void ChecksNameTheUnknownPlaceholderAndItsField()
    {
        var errors = new Dictionary<string, string[]>();

        CampaignMatrix.Check(new CreateLinkRequest { Url = "https://e.example/{brand}", Tags = ["{chanel}"] },
            Dimensions(("brand", ["a"]), ("channel", ["b"])), errors);

        Assert.Equal(["template.tags"], errors.Keys);
        Assert.Contains("{chanel}", errors["template.tags"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void ChecksRefuseMoreThanTenDimensionsAndEmptyValues()
    {
        var errors = new Dictionary<string, string[]>();

        CampaignMatrix.Check(new CreateLinkRequest { Url = "https://e.example/" },
            [.. Dimensions([.. Enumerable.Range(0, 11).Select(i => ($"d{i}", new[] { "x" }))]), .. Dimensions(("empty", [""]))], errors);

        Assert.Contains("dimensions", errors.Keys);
        Assert.Contains("dimensions.empty", errors.Keys);
    }
}
