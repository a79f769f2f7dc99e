namespace Tern.Server.Hosting;

/// <summary>Every log line Tern writes, source-generated so that a disabled level costs nothing.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Applied migration {Version} ({Name}) to the {Provider} database")]
    public static partial void MigrationApplied(ILogger logger, int version, string name, string provider);

    [LoggerMessage(2, LogLevel.Information, "Storage: {Provider} at schema version {Version}")]
    public static partial void StorageReady(ILogger logger, string provider, int version);

    [LoggerMessage(3, LogLevel.Information, "Registered the configured admin key {Prefix}… in workspace {WorkspaceId}")]
    public static partial void AdminKeyRegistered(ILogger logger, string prefix, string workspaceId);

    [LoggerMessage(4, LogLevel.Warning, "No API key existed, so a first admin key {Prefix}… was created and printed once on standard output")]
    public static partial void FirstKeyCreated(ILogger logger, string prefix);

    [LoggerMessage(5, LogLevel.Error, "Unhandled error answering {Method} {Path}")]
    public static partial void UnhandledError(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(6, LogLevel.Warning, "Writing a batch of {Count} clicks failed; it is held and retried ({Queued} more queued)")]
    public static partial void ClickBatchFailed(ILogger logger, Exception exception, int count, int queued);

    [LoggerMessage(9, LogLevel.Error, "Shutdown timed out with {Count} answered clicks not yet written")]
    public static partial void ClicksAbandoned(ILogger logger, int count);

    [LoggerMessage(7, LogLevel.Warning, "Loading a link for the redirect path failed; answering 503")]
    public static partial void LinkLoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Maintenance job {Job} failed")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception, string job);

    [LoggerMessage(10, LogLevel.Warning, "Webhook dispatch failed; claimed deliveries go out again when their claim expires")]
    public static partial void DispatchFailed(ILogger logger, Exception exception);

    [LoggerMessage(11, LogLevel.Information, "Delivery {DeliveryId} to webhook {WebhookId} failed (status {StatusCode}, {Error}); exhausted: {Exhausted}")]
    public static partial void DeliveryAttemptFailed(ILogger logger, string deliveryId, string webhookId, int? statusCode, string? error, bool exhausted);

    [LoggerMessage(12, LogLevel.Warning, "Listening for link changes failed; retrying in {BackoffMs} ms, and the link cache is dropped once listening resumes")]
    public static partial void LinkChangesLost(ILogger logger, Exception exception, double backoffMs);

    [LoggerMessage(13, LogLevel.Information, "Listening for link changes again; the link cache was revalidated: {Dropped} links that changed meanwhile dropped, {Kept} kept")]
    public static partial void LinkChangesResynced(ILogger logger, int dropped, int kept);

    [LoggerMessage(14, LogLevel.Debug, "Cluster job {Job} ran on this node for the period claimed at {ClaimedAtMs}")]
    public static partial void ClusterJobRan(ILogger logger, string job, long claimedAtMs);

    [LoggerMessage(20, LogLevel.Warning, "Checkpoint of the SQLite WAL failed; the writer's own checkpoint takes over")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(21, LogLevel.Warning, "Writing click {What} failed; retrying")]
    public static partial void RollupWriteFailed(ILogger logger, Exception exception, string what);

    [LoggerMessage(22, LogLevel.Information, "Added up {Count} clicks stored after the last rollup mark (the previous run ended without writing their sums)")]
    public static partial void ClicksRolledUpAfterRestart(ILogger logger, int count);

    [LoggerMessage(23, LogLevel.Warning, "Folding clicks into counts, rollups and events failed; retrying ({Backlog} stored clicks wait for the fold)")]
    public static partial void FoldFailed(ILogger logger, Exception exception, long backlog);

    [LoggerMessage(24, LogLevel.Information, "{Count} clicks stored before the last stop are still to be folded into counts, rollups and events")]
    public static partial void ClicksToFoldAfterRestart(ILogger logger, long count);

    [LoggerMessage(130, LogLevel.Warning, "Listening for committed events failed; retrying in {BackoffMs} ms (event streams look every few seconds meanwhile)")]
    public static partial void EventNoticesLost(ILogger logger, Exception exception, double backoffMs);

    [LoggerMessage(134, LogLevel.Warning, "Listening on {Channel} failed; retrying in {BackoffMs} ms (what it keeps in memory is read from storage meanwhile)")]
    public static partial void ChangeNoticesLost(ILogger logger, Exception exception, string channel, double backoffMs);

    [LoggerMessage(40, LogLevel.Information, "Encrypted {Count} webhook signing secrets that were stored in plaintext")]
    public static partial void WebhookSecretsEncrypted(ILogger logger, int count);

    [LoggerMessage(131, LogLevel.Warning, "Listening for link changes again, but the link cache could not be revalidated; it was dropped")]
    public static partial void LinkCacheDropped(ILogger logger, Exception exception);

    [LoggerMessage(132, LogLevel.Information, "Stopping with {Count} stored clicks of this node not yet in the rollups; the next fold on any node adds them up")]
    public static partial void RollupsLeftToNextFold(ILogger logger, long count);

    [LoggerMessage(133, LogLevel.Information, "This node sends no webhooks (Tern:Webhooks:Send is false); it stores each event's deliveries for the nodes that do")]
    public static partial void NotSendingWebhooks(ILogger logger);
}
