using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Clicks;

public static class ClicksServices
{
    /// <summary>Clicks: counted and captured on the redirect path, enriched and written in batches off it.</summary>
    public static IServiceCollection AddClicks(this IServiceCollection services)
    {
        services.AddOptions<ClickOptions>().BindConfiguration(ClickOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<GeoOptions>().BindConfiguration(GeoOptions.Section).ValidateOnStart();
        services.AddSingleton<ClickTallies>();
        services.AddSingleton<ILinkChangeObserver>(sp => sp.GetRequiredService<ClickTallies>());
        services.AddSingleton<ILiveClickCounts>(sp => sp.GetRequiredService<ClickTallies>());
        services.AddSingleton<CountryResolver>();
        services.AddSingleton<VisitorSalts>();
        services.AddSingleton<ClickEnricher>();
        services.AddSingleton<ClickQueue>();
        services.AddSingleton<ClickStore>();
        services.AddSingleton<ClickedEvents>();
        services.AddSingleton<RangeRollups>();
        services.AddSingleton<ClickFolder>();
        services.AddSingleton<ClickWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<ClickWriter>());
        return services;
    }
}
