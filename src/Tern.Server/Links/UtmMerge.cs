using System.Text;
using Tern.Contracts;

namespace Tern.Server.Links;

/// <summary>
/// Merges UTM parameters into a destination: an existing <c>utm_*</c> parameter takes the new value in
/// place, a missing one is appended; every other parameter and the fragment are left byte for byte.
/// </summary>
public static class UtmMerge
{
    public const int MaxValueLength = 256;

    public static string Apply(string url, UtmParameters? utm)
    {
        if (utm is null || IsEmpty(utm))
        {
            return url;
        }

        var hash = url.IndexOf('#', StringComparison.Ordinal);
        var fragment = hash < 0 ? "" : url[hash..];
        var beforeFragment = hash < 0 ? url : url[..hash];
        var questionMark = beforeFragment.IndexOf('?', StringComparison.Ordinal);
        var path = questionMark < 0 ? beforeFragment : beforeFragment[..questionMark];
        var pairs = questionMark < 0 || questionMark == beforeFragment.Length - 1
            ? new List<string>()
            : [.. beforeFragment[(questionMark + 1)..].Split('&')];

        foreach (var (name, value) in Parameters(utm))
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var pair = name + "=" + Uri.EscapeDataString(value);
            var index = pairs.FindIndex(p => p == name || p.StartsWith(name + "=", StringComparison.Ordinal));
            if (index >= 0)
            {
                pairs[index] = pair;
            }
            else
            {
                pairs.Add(pair);
            }
        }

        var builder = new StringBuilder(url.Length + 64).Append(path);
        if (pairs.Count > 0)
        {
            builder.Append('?').AppendJoin('&', pairs);
        }

        return builder.Append(fragment).ToString();
    }

    public static bool IsEmpty(UtmParameters utm) =>
        Parameters(utm).All(p => string.IsNullOrEmpty(p.Value));

    public static IEnumerable<(string Name, string? Value)> Parameters(UtmParameters utm)
    {
        yield return ("utm_source", utm.Source);
        yield return ("utm_medium", utm.Medium);
        yield return ("utm_campaign", utm.Campaign);
        yield return ("utm_term", utm.Term);
        yield return ("utm_content", utm.Content);
    }
}
