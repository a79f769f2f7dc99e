using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Links;

/// <summary>
/// The short domains links may live on: the default one (the host of <c>Tern:BaseUrl</c>, else of the first
/// listen URL) and those listed in <c>Tern:Domains</c>. Domains are stored lower-case, in ASCII, without port.
/// </summary>
public sealed class ShortDomains(IOptions<TernOptions> options, IServer server)
{
    private readonly Lazy<(string Origin, string Domain, string Scheme)> _default = new(() => ResolveDefault(options.Value, server));
    // Host headers may arrive in any case; stored domains are lower-case.
    private readonly Lazy<HashSet<string>> _extra = new(() => new HashSet<string>(
        options.Value.Domains.Select(d => TryNormalize(d, out var n) ? n : throw new InvalidOperationException($"Tern:Domains holds '{d}', which is not a host name.")),
        StringComparer.OrdinalIgnoreCase));

    /// <summary>The default short domain, e.g. <c>go.example.com</c>.</summary>
    public string Default => _default.Value.Domain;

    public bool IsServed(string domain) => domain == Default || _extra.Value.Contains(domain);

    public bool IsExtra(ReadOnlySpan<char> host) => _extra.Value.Count > 0 && _extra.Value.GetAlternateLookup<ReadOnlySpan<char>>().Contains(host);

    public IReadOnlyCollection<string> Extra => _extra.Value;

    /// <summary>
    /// True when <paramref name="url"/> points at one of Tern's own short domains: the default origin (host and port)
    /// or any port of an extra domain. A link there would redirect to Tern itself, in a loop that counts every hop.
    /// </summary>
    public bool IsOwn(Uri url)
    {
        var host = url.IdnHost.TrimEnd('.');
        if (_extra.Value.Contains(host))
        {
            return true;
        }

        var origin = new Uri(_default.Value.Origin);
        return host.Equals(origin.IdnHost, StringComparison.OrdinalIgnoreCase) && url.Port == origin.Port;
    }

    public string ShortUrl(string domain, string slug) =>
        domain == Default ? $"{_default.Value.Origin}/{slug}" : $"{_default.Value.Scheme}://{domain}/{slug}";

    /// <summary>Lower-cases a host name and turns an international one into punycode.</summary>
    public static bool TryNormalize(string? input, out string domain)
    {
        domain = "";
        if (string.IsNullOrWhiteSpace(input) || input.Length > 253)
        {
            return false;
        }

        if (input.AsSpan().IndexOfAny("/?#@: \\") >= 0 || !Uri.TryCreate($"http://{input}/", UriKind.Absolute, out var uri)
            || uri.HostNameType is not (UriHostNameType.Dns or UriHostNameType.IPv4))
        {
            return false;
        }

        domain = uri.IdnHost.ToLowerInvariant();
        return true;
    }

    private static (string, string, string) ResolveDefault(TernOptions options, IServer server)
    {
        var baseUrl = options.BaseUrl;
        if (string.IsNullOrWhiteSpace(baseUrl))
        {
            baseUrl = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost";
        }

        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"Tern:BaseUrl must be an absolute http or https origin, not '{baseUrl}'.");
        }

        // A wildcard listen address is not a host anyone can reach; localhost is what a developer types.
        var host = uri.Host is "0.0.0.0" or "[::]" or "+" or "*" ? "localhost" : uri.IdnHost.ToLowerInvariant();
        var port = uri.IsDefaultPort ? "" : $":{uri.Port}";
        return ($"{uri.Scheme}://{host}{port}", host, uri.Scheme);
    }
}
