using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Clicks;

/// <summary>
/// Turns a <see cref="ClickCapture"/> into a <see cref="Click"/>: device, browser and OS from the User-Agent
/// (memoised, since a campaign's visitors share few distinct strings), country from the trusted header or the
/// MaxMind database, referrer and its host, the primary Accept-Language tag, and, when enabled, a visitor hash
/// salted per UTC day. Runs on the writer's single thread, so its memo needs no locking.
/// </summary>
public sealed class ClickEnricher(
    CountryResolver countries, VisitorSalts salts, IOptions<TernOptions> ternOptions, IOptions<ClickOptions> clickOptions)
{
    public const int MaxReferrerLength = 2048;
    private const int MaxMemoisedAgents = 20_000;

    private readonly Dictionary<string, UserAgentInfo> _agents = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<IPNetwork> _trustedProxies = ClientAddress.ParseNetworks(ternOptions.Value.TrustedProxies);
    private readonly bool _uniqueVisitors = clickOptions.Value.UniqueVisitors;

    public async ValueTask<Click> EnrichAsync(ClickCapture capture, CancellationToken cancellationToken)
    {
        var agent = Classify(capture.UserAgent);
        var address = ClientAddress.Resolve(capture.RemoteAddress, capture.ForwardedFor, _trustedProxies);
        var (referrer, referrerHost) = Referrer(capture.Referrer);
        return new Click
        {
            Id = Ids.New("clk", capture.TimestampMs),
            WorkspaceId = capture.WorkspaceId,
            LinkId = capture.LinkId.ToString(),
            Slug = capture.Slug,
            Domain = capture.Domain,
            TimestampMs = capture.TimestampMs,
            Device = agent.Device,
            Browser = agent.Browser,
            Os = agent.Os,
            IsBot = agent.IsBot,
            Country = countries.Resolve(capture.CountryHeader, address),
            Referrer = referrer,
            ReferrerHost = referrerHost,
            Language = PrimaryLanguage(capture.AcceptLanguage),
            Visitor = _uniqueVisitors && address is not null
                ? await VisitorHashAsync(capture, address, cancellationToken)
                : null,
            Destination = capture.Destination,
            RuleIndex = capture.RuleIndex < 0 ? null : capture.RuleIndex,
            Variant = capture.Variant < 0 ? null : capture.Variant,
            Source = capture.FromQr ? "qr" : null,
        };
    }

    private UserAgentInfo Classify(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent))
        {
            return UserAgentClassifier.Classify(userAgent);
        }

        if (!_agents.TryGetValue(userAgent, out var info))
        {
            if (_agents.Count >= MaxMemoisedAgents)
            {
                _agents.Clear();
            }

            info = UserAgentClassifier.Classify(userAgent);
            _agents[userAgent] = info;
        }

        return info;
    }

    /// <summary>The referrer as sent (capped) and its lower-case host; anything that is not an absolute URL counts as none.</summary>
    public static (string? Referrer, string? Host) Referrer(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || !Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return (null, null);
        }

        var referrer = value.Length > MaxReferrerLength ? value[..MaxReferrerLength] : value;
        return (referrer, uri.IdnHost.ToLowerInvariant());
    }

    /// <summary>The first language tag of an Accept-Language header (<c>de-CH,de;q=0.9</c> → <c>de-CH</c>), or null.</summary>
    public static string? PrimaryLanguage(string? acceptLanguage)
    {
        if (string.IsNullOrWhiteSpace(acceptLanguage))
        {
            return null;
        }

        var first = acceptLanguage.AsSpan();
        var comma = first.IndexOf(',');
        first = comma < 0 ? first : first[..comma];
        var semicolon = first.IndexOf(';');
        first = (semicolon < 0 ? first : first[..semicolon]).Trim();
        if (first.Length is 0 or > 35 || first is "*")
        {
            return null;
        }

        foreach (var c in first)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                return null;
            }
        }

        return first.ToString();
    }

    private async Task<string> VisitorHashAsync(ClickCapture capture, IPAddress address, CancellationToken cancellationToken)
    {
        var salt = await salts.ForDayAsync(capture.TimestampMs, cancellationToken);
        var input = Encoding.UTF8.GetBytes($"{address}|{capture.UserAgent}|{capture.WorkspaceId}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(salt, input).AsSpan(0, 12));
    }
}
