using Tern.Contracts;
using Tern.Server.Links;

namespace Tern.Server.Tests.Links;

public sealed class UtmMergeTests
{
    [Fact]
    public void AppendsUtmParametersAfterTheDestinationsOwnQueryAndBeforeItsFragment()
    {
        var merged = UtmMerge.Apply("https://brand.example/loyalty?member_id=usr_84729#top",
            new UtmParameters { Source = "sms", Medium = "push", Campaign = "black friday" });
        Assert.Equal("https://brand.example/loyalty?member_id=usr_84729&utm_source=sms&utm_medium=push&utm_campaign=black%20friday#top", merged);
    }

    [Fact]
    public void ReplacesAnExistingUtmParameterInPlace()
    {
        var merged = UtmMerge.Apply("https://x.example/?utm_source=old&a=1", new UtmParameters { Source = "new" });
        Assert.Equal("https://x.example/?utm_source=new&a=1", merged);
    }

    [Fact]
    public void KeepsTheOtherParametersEncodingByteForByte()
    {
        var merged = UtmMerge.Apply("https://x.example/p?q=a%2Bb&list=1&list=2&flag", new UtmParameters { Term = "t&u=v" });
        Assert.Equal("https://x.example/p?q=a%2Bb&list=1&list=2&flag&utm_term=t%26u%3Dv", merged);
    }

    [Fact]
    public void AddsAQueryWhenTheDestinationHasNone()
    {
        Assert.Equal("https://x.example/?utm_content=hero#f", UtmMerge.Apply("https://x.example/#f", new UtmParameters { Content = "hero" }));
        Assert.Equal("https://x.example/?utm_content=hero", UtmMerge.Apply("https://x.example/?", new UtmParameters { Content = "hero" }));
    }

    [Fact]
    public void LeavesTheDestinationAloneWithoutUtmValues()
    {
        Assert.Equal("https://x.example/?a=1", UtmMerge.Apply("https://x.example/?a=1", null));
        Assert.Equal("https://x.example/?a=1", UtmMerge.Apply("https://x.example/?a=1", new UtmParameters { Source = "" }));
    }
}
