using System.ComponentModel.DataAnnotations;

namespace Tern.Server.Hosting;

/// <summary>Settings under <c>Tern</c>.</summary>
public sealed class TernOptions
{
    public const string Section = "Tern";

    /// <summary>Folder for the embedded database and local state.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>Origin of the default short domain, e.g. https://go.example.com; default the first listen URL.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Bootstrap API key with every scope, registered at start-up if not yet known.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Further short domains links may use besides the default one (host names).</summary>
    public List<string> Domains { get; set; } = [];

    /// <summary>Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed when finding a visitor's address.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Largest request body accepted, in bytes (default 4 MiB).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;
}

/// <summary>Settings under <c>Tern:Database</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Tern:Database";

    /// <summary><c>sqlite</c> (default) or <c>postgres</c>.</summary>
    [RegularExpression("^(?i)(sqlite|postgres)$", ErrorMessage = "Tern:Database:Provider must be 'sqlite' or 'postgres'.")]
    public string Provider { get; set; } = "sqlite";

    /// <summary>
    /// PostgreSQL: longest one statement may run, and opening a connection may take in all (a second an attempt),
    /// before it fails and API calls answer 503; unless the connection string sets <c>Command Timeout</c> or
    /// <c>Timeout</c> itself.
    /// </summary>
    [Range(1, 3600)]
    public int TimeoutSeconds { get; set; } = 3;
}

/// <summary>Settings under <c>Tern:RateLimit</c>: a token bucket per API key.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Tern:RateLimit";

    /// <summary>Turns per-key limiting off when false.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests a key may make in a burst (a key created with its own <c>rateLimit</c> uses that instead).</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; } = 10_000;

    /// <summary>
    /// Sustained requests per second a key may make: above what one node sustains for link creation, so that an
    /// integration is slowed by the server itself before it is refused (bench/README.md has the measurement).
    /// </summary>
    [Range(1, 1_000_000)]
    public int PerSecond { get; set; } = 5_000;

    /// <summary>Failed authentications (malformed, unknown or revoked keys) a client address may make in a burst.</summary>
    [Range(1, 1_000_000)]
    public int FailedAuthBurst { get; set; } = 30;

    /// <summary>Failed authentications a client address regains per minute.</summary>
    [Range(1, 1_000_000)]
    public int FailedAuthPerMinute { get; set; } = 30;
}

/// <summary>Settings under <c>Tern:Cache</c> for the redirect path's <c>LinkCache</c>.</summary>
public sealed class LinkCacheOptions
{
    public const string Section = "Tern:Cache";

    /// <summary>Most links held in memory; beyond it some are dropped and reloaded on demand.</summary>
    [Range(1000, 100_000_000)]
    public int MaxLinks { get; set; } = 2_000_000;

    /// <summary>How long an unknown slug is remembered as unknown, so floods of random slugs stay off storage.</summary>
    [Range(0, 3600)]
    public double MissSeconds { get; set; } = 10;

    /// <summary>Most unknown slugs remembered at once.</summary>
    [Range(0, 10_000_000)]
    public int MaxMisses { get; set; } = 100_000;

    /// <summary>
    /// Most redirects reading storage at once for links not in memory; the others wait their turn in the process. A
    /// cold cache under a flood of redirects then holds a few of storage's connections, not all of them, so the click
    /// writer, the webhooks and the API keep theirs.
    /// </summary>
    [Range(1, 1024)]
    public int ConcurrentLoads { get; set; } = 16;

    /// <summary>
    /// Whether a link this node creates is cached at once, so that its first redirect reads no storage. Turn it off
    /// where memory is tight and most links created are never clicked.
    /// </summary>
    public bool WarmOnCreate { get; set; } = true;
}

/// <summary>Settings under <c>Tern:Clicks</c>.</summary>
public sealed class ClickOptions
{
    public const string Section = "Tern:Clicks";

    /// <summary>Answered clicks held in memory before redirects wait for the writer (back-pressure).</summary>
    [Range(1000, 10_000_000)]
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Most clicks written in one transaction.</summary>
    [Range(1, 100_000)]
    public int MaxBatch { get; set; } = 5000;

    /// <summary>
    /// SQLite: most stored clicks folded into counts, events and rollups in one transaction. The fold takes whatever
    /// was stored since its last transaction, up to this; the writer waits for at most one such transaction. What a fold
    /// reads and writes for its clicks is in memory while it runs, and outlives a young collection that comes meanwhile:
    /// with 2,000, a send-time load (every click on another link) promoted 12–20 MB a collection and its redirect p99
    /// was 10–13 ms; with 1,000, 6.7–6.8 ms, and the fold persisted as many clicks a second.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxFold { get; set; } = 1_000;

    /// <summary>
    /// Longest the writer waits for more clicks to join a batch; a kill -9 can lose the clicks of at most this
    /// window plus the batch being written. 0 (the default) writes as soon as clicks arrive: whatever arrives while
    /// a batch is being written forms the next one, so batches grow with the load by themselves, and a click's
    /// webhook leaves within milliseconds.
    /// </summary>
    [Range(0, 60_000)]
    public int BatchWindowMilliseconds { get; set; }

    /// <summary>
    /// On SQLite, how long the click writer gathers the rollup sums of several batches in memory before writing them,
    /// so that a busy link's cells are updated once per interval rather than once per batch. Stats trail the clicks by
    /// at most this much (the links' click counts do not). A crash loses nothing: the clicks are stored with their
    /// batch, and the writer adds up again those after the last written mark when it starts. 0 writes the sums with
    /// every batch. On PostgreSQL, how often a node adds its stored clicks to the rollups (<c>RangeRollups</c>), from the
    /// clicks table in one statement; 0 after every batch.
    /// </summary>
    [Range(0, 60_000)]
    public int RollupIntervalMilliseconds { get; set; } = 1000;

    /// <summary>Days raw clicks are kept for listing and export; 0 keeps them for ever. Stats rollups are always kept.</summary>
    [Range(0, 36_500)]
    public int RetentionDays { get; set; } = 365;

    /// <summary>Record a daily-salted visitor hash with each click, so unique visitors can be counted per day.</summary>
    public bool UniqueVisitors { get; set; }

    /// <summary>
    /// Clicks a link takes before it keeps stats cells of its own (totals, breakdowns and destinations by hour and
    /// day); until then its stats are read from its raw clicks, and a click adds to its workspace's cells alone. Most
    /// links of a send-time campaign are clicked once or twice, and their own cells were most of what a click cost.
    /// A link's raw clicks past retention are counted into its own cells before they are deleted. 0: every link
    /// keeps its own cells from its first click.
    /// </summary>
    [Range(0, 100_000)]
    public int LinkRollupsAbove { get; set; } = 100;
}

/// <summary>Periodic jobs; with PostgreSQL each runs once per period across all nodes.</summary>
public sealed class MaintenanceOptions
{
    public const string Section = "Tern:Maintenance";

    /// <summary>Seconds between housekeeping runs (purges past retention, click partitions ahead).</summary>
    [Range(1, 86_400)]
    public int IntervalSeconds { get; set; } = 600;

    /// <summary>Seconds between sweeps that announce links whose expiresAt has passed.</summary>
    [Range(1, 3_600)]
    public int ExpirySweepSeconds { get; set; } = 15;
}
