using BenchmarkDotNet.Attributes;
using Tern.Contracts;
using Tern.Server.Links;

namespace Tern.Benchmarks;

/// <summary>The pure functions on the redirect path (slug shape) and on the create path (URL, UTM).</summary>
[MemoryDiagnoser]
public class LinkRulesBenchmarks
{
    private static readonly UtmParameters Utm = new() { Source = "newsletter", Medium = "email", Campaign = "spring sale" };

    private readonly string _slug = "b12345";
    private readonly string _longSlug = new string('x', 63) + "_";
    private readonly string _badSlug = "b123.php";

    [Benchmark]
    public bool SlugRules_IsWellFormed() => SlugRules.IsWellFormed(_slug);

    [Benchmark]
    public bool SlugRules_IsWellFormed_64chars() => SlugRules.IsWellFormed(_longSlug);

    [Benchmark]
    public bool SlugRules_IsWellFormed_rejected() => SlugRules.IsWellFormed(_badSlug);

    [Benchmark]
    public string DestinationUrl_TryNormalize()
    {
        DestinationUrl.TryNormalize("https://example.com/p/12345?member=usr_12345", out var normalized, out _);
        return normalized;
    }

    [Benchmark]
    public string DestinationUrl_TryNormalize_idn()
    {
        DestinationUrl.TryNormalize("https://bücher.example/straße?q=ä#frag", out var normalized, out _);
        return normalized;
    }

    [Benchmark]
    public string UtmMerge_Apply() => UtmMerge.Apply("https://example.com/p/12345?member=usr_12345&utm_source=old#top", Utm);

    [Benchmark]
    public string UtmMerge_Apply_none() => UtmMerge.Apply("https://example.com/p/12345?member=usr_12345", null);
}
