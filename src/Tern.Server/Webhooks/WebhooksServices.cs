using Tern.Server.Events;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

public static class WebhooksServices
{
    /// <summary>
    /// Subscriptions, the fan-out that queues a delivery per subscription as events are appended, the dispatcher that
    /// sends them, and its metrics.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations()
            .Validate(options => AllowedHostsParse(options), $"{AllowedHosts.ConfigKey} holds an entry that is neither a host name nor an address range.")
            .ValidateOnStart();
        services.AddSingleton<WebhookSecrets>();
        services.AddHostedService<WebhookSecretMigration>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<DeliveryQueue>();
        services.AddSingleton<DeliveryAnnouncements>();
        services.AddSingleton<SubscribedEventTypes>();
        services.AddSingleton<IChangeClearedCache>(sp => sp.GetRequiredService<SubscribedEventTypes>());
        services.AddSingleton<IEventSubscriber, WebhookFanOut>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<WebhookMetrics>();
        return services;
    }

    private static bool AllowedHostsParse(WebhookOptions options)
    {
        try
        {
            _ = options.ParsedAllowedHosts;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
