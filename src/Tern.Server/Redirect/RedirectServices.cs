using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Redirect;

public static class RedirectServices
{
    /// <summary>The redirect path: the link cache, the redirector, and the listener that keeps the cache coherent.</summary>
    public static IServiceCollection AddRedirects(this IServiceCollection services)
    {
        services.AddOptions<LinkCacheOptions>().BindConfiguration(LinkCacheOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LinkCache>();
        services.AddSingleton<ILinkChangeObserver>(sp => sp.GetRequiredService<LinkCache>());
        services.AddSingleton<PasswordAttempts>();
        services.AddSingleton<Redirector>();
        // With PostgreSQL, other nodes' link changes reach this node's cache through LISTEN/NOTIFY.
        services.AddSingleton<LinkChangeListener>();
        services.AddHostedService(sp => sp.GetRequiredService<LinkChangeListener>());
        return services;
    }
}
