namespace Tern.Server.Events;

public static class EventsServices
{
    /// <summary>The event log, the outbox that appends to it and hands each event to its subscribers, and the notices that wake event streams.</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services)
    {
        services.AddSingleton<EventLog>();
        services.AddSingleton<EventOutbox>();
        services.AddSingleton<EventNotices>();
        services.AddHostedService(provider => provider.GetRequiredService<EventNotices>());
        return services;
    }
}
