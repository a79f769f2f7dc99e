using Tern.Server.Links;

namespace Tern.Server.Tests.Links;

public sealed class DestinationUrlTests
{
    [Theory]
    [InlineData("https://brand.example/loyalty?member_id=usr_84729", "https://brand.example/loyalty?member_id=usr_84729")]
    [InlineData("HTTPS://Brand.Example/Path?Q=1#Frag", "https://brand.example/Path?Q=1#Frag")]
    [InlineData("https://example.com", "https://example.com/")]
    [InlineData("https://example.com?x=1", "https://example.com/?x=1")]
    [InlineData("http://example.com:8080/a", "http://example.com:8080/a")]
    [InlineData("https://example.com:443/a", "https://example.com/a")]
    [InlineData("https://bücher.example/straße?q=ä", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%A4")]
    [InlineData("https://example.com/a%20b?x=%2F", "https://example.com/a%20b?x=%2F")]
    [InlineData("https://[2001:db8::1]/x", "https://[2001:db8::1]/x")]
    [InlineData("https://example.com/emoji/😀", "https://example.com/emoji/%F0%9F%98%80")]
    public void NormalisesHostAndEncodesOnlyNonAscii(string input, string expected)
    {
        Assert.True(DestinationUrl.TryNormalize(input, out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("example.com/path", "http:// or https://")]
    [InlineData("/relative", "http:// or https://")]
    [InlineData("ftp://example.com/file", "http:// or https://")]
    [InlineData("javascript:alert(1)", "http:// or https://")]
    [InlineData("data:text/html,hi", "http:// or https://")]
    [InlineData("https://user:pass@example.com/", "user-info")]
    [InlineData("https://user@example.com/", "user-info")]
    [InlineData("https://exa mple.com/", "space or control")]
    [InlineData("https://example.com/a b", "space or control")]
    [InlineData("https://example.com/\ttab", "space or control")]
    [InlineData("https://example.com/\u0000", "space or control")]
    [InlineData("https://example.com/\r\nSet-Cookie:x", "space or control")]
    [InlineData("https://example.com/\u00a0", "space or control")]
    [InlineData("https://", "not a valid")]
    [InlineData("https:///path", "not a valid")]
    [InlineData("http://exa<mple.com/", "not a valid")]
    public void RefusesBadDestinationsNamingTheReason(string? input, string reason)
    {
        Assert.False(DestinationUrl.TryNormalize(input, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesDestinationsOverTheLengthLimit()
    {
        var url = "https://example.com/" + new string('a', DestinationUrl.MaxLength);
        Assert.False(DestinationUrl.TryNormalize(url, out _, out var error));
        Assert.Contains("limit", error, StringComparison.Ordinal);
    }
}
