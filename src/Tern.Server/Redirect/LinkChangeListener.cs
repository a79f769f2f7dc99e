using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Redirect;

/// <summary>
/// Keeps this node's <see cref="LinkCache"/> coherent with changes made on other nodes (PostgreSQL only). One
/// long-lived connection outside the pool listens on <see cref="Channel"/>, where the <c>links</c> table's trigger
/// announces every committed change as <c>domain/slug</c>; each announcement drops that entry. Changes made while
/// nobody listened were not heard: when listening starts the cache is empty, and when it starts again after a lost
/// connection the cache is revalidated (<see cref="LinkCache.RevalidateAsync"/>), dropping only the links that changed
/// meanwhile, so that a blip does not send every following redirect to the database just when it is weakest. If the
/// revalidation itself fails, the whole cache goes. A lost connection is retried with backoff for as long as it takes.
/// </summary>
public sealed class LinkChangeListener(Database database, LinkCache cache, TimeProvider timeProvider, ILogger<LinkChangeListener> logger)
    : BackgroundService
{
    public const string Channel = "tern_links";

    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _heard;
    private int _listening;
    private int _lost;
    private long _resyncs;

    /// <summary>
    /// Lets the host go on (and the server answer) only once the first attempt to listen has ended, so that the
    /// drop of the whole cache that comes with listening never throws away links already served.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        try
        {
            await _firstAttempt.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still connecting: the node serves meanwhile, and drops its cache once it listens.
        }
    }

    /// <summary>True while the node hears link changes; false before the first connection and while reconnecting.</summary>
    public bool Listening => Volatile.Read(ref _listening) == 1;

    /// <summary>Announcements heard since start.</summary>
    public long Heard => Volatile.Read(ref _heard);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!database.HasNotifications)
        {
            _firstAttempt.TrySetResult();
            return; // one node: LinkService invalidates the cache itself
        }

        var reconnect = StorageRetry.Forever(timeProvider, _ => !stoppingToken.IsCancellationRequested, Lost);
        try
        {
            // Each outage runs the pipeline afresh, so the backoff starts small again after a session that worked.
            while (true)
            {
                await reconnect.ExecuteAsync(ListenUntilLostAsync, stoppingToken);
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>One session: connects and listens, and returns when a session that was listening is lost.</summary>
    private async ValueTask ListenUntilLostAsync(CancellationToken stoppingToken)
    {
        var listened = false;
        try
        {
            await database.ListenAsync(Channel, () =>
            {
                listened = true;
                if (Interlocked.Exchange(ref _lost, 0) == 1)
                {
                    // Heard from here on; what changed before is checked against storage, off the listening thread.
                    _ = Task.Run(() => ResyncAsync(stoppingToken), stoppingToken);
                }
                else
                {
                    cache.Clear();
                }

                Volatile.Write(ref _listening, 1);
                _firstAttempt.TrySetResult();
            }, Apply, stoppingToken);
        }
        catch (Exception exception) when (listened && !stoppingToken.IsCancellationRequested)
        {
            Lost(exception, TimeSpan.Zero);
        }
    }

    /// <summary>Resyncs after a lost connection has been replaced; falls back to dropping everything.</summary>
    private async Task ResyncAsync(CancellationToken stoppingToken)
    {
        try
        {
            var (dropped, kept) = await cache.RevalidateAsync(stoppingToken);
            Log.LinkChangesResynced(logger, dropped, kept);
        }
        catch (Exception exception)
        {
            if (stoppingToken.IsCancellationRequested)
            {
                return; // stopping: nothing is served from the cache any more
            }

            cache.Clear();
            Log.LinkCacheDropped(logger, exception);
        }

        Interlocked.Increment(ref _resyncs);
    }

    /// <summary>How many times the cache was brought up to date after a lost connection.</summary>
    public long Resyncs => Volatile.Read(ref _resyncs);

    private void Lost(Exception exception, TimeSpan retryIn)
    {
        _firstAttempt.TrySetResult();
        Volatile.Write(ref _listening, 0);
        Volatile.Write(ref _lost, 1);
        Log.LinkChangesLost(logger, exception, retryIn.TotalMilliseconds);
    }

    /// <summary>
    /// A payload is one <c>domain/slug</c> (neither part can hold a '/'), with a leading '+' when the link was just
    /// created: then only a remembered miss goes, since a link cached meanwhile was read after the creation.
    /// </summary>
    private void Apply(string payload)
    {
        Interlocked.Increment(ref _heard);
        var created = payload.StartsWith('+');
        var place = created ? payload[1..] : payload;
        var separator = place.IndexOf('/', StringComparison.Ordinal);
        if (separator > 0 && created)
        {
            cache.ForgetMiss(place[..separator], place[(separator + 1)..]);
        }
        else if (separator > 0)
        {
            cache.Invalidate(place[..separator], place[(separator + 1)..]);
        }
        else
        {
            cache.Clear();
        }
    }
}
