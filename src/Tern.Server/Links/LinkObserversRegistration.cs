namespace Tern.Server.Links;

public static class LinkObserversRegistration
{
    /// <summary>
    /// Offers the singletons already registered that observe link changes or count live clicks as
    /// <see cref="ILinkChangeObserver"/> and <see cref="ILiveClickCounts"/>, in registration order, so that Links
    /// names none of the rooms that keep something about links. Call it after those singletons are registered.
    /// </summary>
    public static IServiceCollection AddLinkObservers(this IServiceCollection s)
    {
        var singletons = s.Where(d => !d.IsKeyedService && d.Lifetime == ServiceLifetime.Singleton && d.ServiceType == d.ImplementationType)
            .Select(d => d.ServiceType).ToList();
        foreach (var type in singletons)
        {
            if (typeof(ILinkChangeObserver).IsAssignableFrom(type))
            {
                s.AddSingleton(sp => (ILinkChangeObserver)sp.GetRequiredService(type));
            }

            if (typeof(ILiveClickCounts).IsAssignableFrom(type))
            {
                s.AddSingleton(sp => (ILiveClickCounts)sp.GetRequiredService(type));
            }
        }

        return s;
    }
}
