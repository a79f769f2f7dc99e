using Tern.Server.Hosting;

namespace Tern.Server.Links;

public static class LinksServices
{
    /// <summary>
    /// Short domains, link storage and rules, single and bulk changes, the API's link answers, link events, and the
    /// sweep that announces expired links.
    /// </summary>
    public static IServiceCollection AddLinks(this IServiceCollection services)
    {
        services.AddSingleton<LinkEvents>();
        services.AddClusterJob<ExpirySweeper>();
        services.AddSingleton<ShortDomains>();
        services.AddSingleton<LinkStore>();
        services.AddSingleton<LinkValidator>();
        services.AddSingleton<LinkService>();
        services.AddSingleton<BulkLinkService>();
        services.AddSingleton<LinkResponses>();
        return services;
    }
}
