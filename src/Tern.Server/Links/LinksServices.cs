namespace Tern.Server.Links;

public static class LinksServices
{
    /// <summary>Short domains, link storage and rules, single and bulk changes, and the API's link answers.</summary>
    public static IServiceCollection AddLinks(this IServiceCollection services)
    {
        services.AddSingleton<ShortDomains>();
        services.AddSingleton<LinkStore>();
        services.AddSingleton<LinkValidator>();
        services.AddSingleton<LinkService>();
        services.AddSingleton<BulkLinkService>();
        services.AddSingleton<LinkResponses>();
        return services;
    }
}
