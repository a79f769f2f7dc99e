using Tern.Server.Hosting;

namespace Tern.Server.Events;

public static class EventsServices
{
    /// <summary>The event log as a transactional outbox, and the sweep that announces expired links.</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services)
    {
        services.AddSingleton<EventOutbox>();
        services.AddClusterJob<ExpirySweeper>();
        return services;
    }
}
