using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// A periodic job that runs once per <see cref="Period"/> across every node sharing the storage
/// (<see cref="Database.TryRunExclusiveAsync"/>). A job says what it does; <see cref="ClusterJobRunner{TJob}"/>
/// keeps its timer, claims each period, logs and stops with the host.
/// </summary>
internal abstract class ClusterJob
{
    /// <summary>The job's name in <c>cluster_jobs</c> and in the log.</summary>
    public abstract string Name { get; }

    /// <summary>How often the job runs, once across the cluster; also the time between this node's attempts.</summary>
    public abstract TimeSpan Period { get; }

    /// <summary>What a failed run is called in the log; the job's name unless a job says better.</summary>
    public virtual string Description => Name;

    /// <summary>One run, on the one node that claimed the period.</summary>
    public abstract Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>Runs <typeparamref name="TJob"/> at once and then every period until the host stops; a failed run is logged and the next one comes as usual.</summary>
internal sealed class ClusterJobRunner<TJob>(TJob job, Database database, TimeProvider timeProvider, ILogger<TJob> logger)
    : BackgroundService where TJob : ClusterJob
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = job.Period;
        using var timer = new PeriodicTimer(period, timeProvider);
        do
        {
            try
            {
                if (await database.TryRunExclusiveAsync(job.Name, period, job.RunAsync, stoppingToken) is { } claimedAt)
                {
                    Log.ClusterJobRan(logger, job.Name, claimedAt);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                Log.MaintenanceFailed(logger, exception, job.Description);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

internal static class ClusterJobServiceCollectionExtensions
{
    /// <summary>Registers <typeparamref name="TJob"/> as a singleton and runs it as a hosted service (started in registration order).</summary>
    public static IServiceCollection AddClusterJob<TJob>(this IServiceCollection services) where TJob : ClusterJob
    {
        services.AddSingleton<TJob>();
        services.AddHostedService<ClusterJobRunner<TJob>>();
        return services;
    }
}
