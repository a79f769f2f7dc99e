namespace Tern.Server.Events;

public static class EventsServices
{
    /// <summary>The event log, and the outbox that appends to it and hands each event to its subscribers.</summary>
    public static IServiceCollection AddEvents(this IServiceCollection services)
    {
        services.AddSingleton<EventLog>();
        services.AddSingleton<EventOutbox>();
        return services;
    }
}
