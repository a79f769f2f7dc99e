namespace Tern.Server.Hosting;

/// <summary>The current instant as storage holds it: Unix milliseconds on both providers.</summary>
public static class Clock
{
    /// <summary>Now in Unix milliseconds.</summary>
    public static long NowMs(this TimeProvider timeProvider) => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Now cut to the millisecond, so that an instant answered before it is stored equals the one read back.</summary>
    public static DateTimeOffset NowToTheMillisecond(this TimeProvider timeProvider) =>
        DateTimeOffset.FromUnixTimeMilliseconds(timeProvider.NowMs());
}
