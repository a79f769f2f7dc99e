using System.Net;
using Microsoft.AspNetCore.Http;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Links;
using Tern.Server.Redirect;

namespace Tern.Server.Tests.SmartLinks;

/// <summary>The redirect decision itself, on requests built in memory.</summary>
public sealed class SmartRouteTests
{
    private static readonly CountryResolver NoGeo = new(Microsoft.Extensions.Options.Options.Create(new GeoOptions()));

    [Theory]
    [InlineData(new[] { 50, 50 })]
    [InlineData(new[] { 70, 30 })]
    [InlineData(new[] { 20, 30, 50 })]
    [InlineData(new[] { 1, 99 })]
    public void TenThousandVisitorsSplitByTheWeightsWithinStatisticalNoise(int[] weights)
    {
        var route = SmartRoute.For(Link([.. weights.Select((w, i) => new LinkVariant { Url = $"https://example.com/{i}", Weight = w })]))!;
        var random = new Random(20261207);
        var counts = new int[weights.Length];
        const int visitors = 10_000;
        for (var i = 0; i < visitors; i++)
        {
            var request = Request($"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}", $"Agent/{random.Next(1000)}");
            counts[route.Decide(request, 0, NoGeo, null).Variant]++;
        }

        // Pearson's chi-square against the weights; the bounds are the 0.1% critical values for 1 and 2 degrees of freedom.
        var chiSquare = counts.Select((observed, i) => Math.Pow(observed - (visitors * weights[i] / 100.0), 2) / (visitors * weights[i] / 100.0)).Sum();
        Assert.True(chiSquare < (weights.Length == 2 ? 10.83 : 13.82), $"chi-square {chiSquare:F2} for {string.Join('/', counts)}");
    }

    [Fact]
    public void AVisitorGetsTheSameVariantEveryTimeAndAnotherLinkSplitsThemAfresh()
    {
        LinkVariant[] variants = [new() { Url = "https://example.com/a", Weight = 50 }, new() { Url = "https://example.com/b", Weight = 50 }];
        var first = SmartRoute.For(Link(variants))!;
        var second = SmartRoute.For(Link(variants) with { Id = "lnk_other" })!;
        var differs = 0;
        for (var i = 0; i < 200; i++)
        {
            var variant = first.Decide(Request($"192.0.2.{i}", "Browser"), 0, NoGeo, null).Variant;
            Assert.Equal(variant, first.Decide(Request($"192.0.2.{i}", "Browser"), 0, NoGeo, null).Variant);
            differs += second.Decide(Request($"192.0.2.{i}", "Browser"), 0, NoGeo, null).Variant != variant ? 1 : 0;
        }

        Assert.InRange(differs, 60, 140);
    }

    [Fact]
    public void APlainLinkHasNoRoute() =>
        Assert.Null(SmartRoute.For(Link(null) with { Variants = null }));

    [Theory]
    [InlineData("?a=1&qr=1", "a=1")]
    [InlineData("?qr=1&a=1&qr=1", "a=1")]
    [InlineData("?qr=1", "")]
    [InlineData("?qr=10&qr=1", "qr=10")]
    public void TheQrMarkerIsTakenOutOfTheForwardedQuery(string query, string forwarded)
    {
        Assert.True(SmartRoute.HasParameter(query, SmartRoute.QrMarker));
        Assert.Equal(forwarded, SmartRoute.WithoutQrMarker(query));
    }

    private static Link Link(IReadOnlyList<LinkVariant>? variants) => new()
    {
        Id = "lnk_split",
        WorkspaceId = "ws",
        Domain = "go.test",
        Slug = "split",
        BaseUrl = "https://example.com/",
        Url = "https://example.com/",
        Variants = variants,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    private static HttpRequest Request(string address, string userAgent)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        context.Request.Headers.UserAgent = userAgent;
        return context.Request;
    }
}
