using System.ComponentModel.DataAnnotations;

namespace Tern.Server.Webhooks;

/// <summary>Settings under <c>Tern:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Tern:Webhooks";

    /// <summary>The retry schedule after a failed attempt, comma-separated seconds.</summary>
    public string RetryDelaysSeconds { get; set; } = "5,300,1800,7200,18000,36000,36000";

    /// <summary>
    /// Whether this node sends webhooks. A node with false still stores the deliveries of every event it commits; the
    /// nodes with true send them (over PostgreSQL they hear of each event at once), or this node once started with
    /// true. For a cluster whose redirect nodes should leave the sending to others.
    /// </summary>
    public bool Send { get; set; } = true;

    /// <summary>When true, webhook URLs may resolve to loopback, private or link-local addresses (development and tests).</summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>
    /// Host names and address ranges (CIDR) that webhooks may reach even when private, e.g. <c>AllowedHosts:0=n8n</c>,
    /// <c>AllowedHosts:1=10.20.0.0/16</c> (an entry may also list several, comma-separated); every other private
    /// address stays refused.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary><see cref="AllowedHosts"/> parsed once.</summary>
    public AllowedHosts ParsedAllowedHosts => _parsed ??= Webhooks.AllowedHosts.Parse(string.Join(',', AllowedHosts));

    private AllowedHosts? _parsed;

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    [Range(1, 300)]
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// The most attempts in flight at once to one endpoint. Within it the number adapts to the receiver: more while
    /// it answers fast and well, fewer when it slows down or fails.
    /// </summary>
    [Range(1, 1000)]
    public int MaxConcurrencyPerEndpoint { get; set; } = 64;

    /// <summary>Attempts in flight to an endpoint before its answers have shown what it can take.</summary>
    [Range(1, 1000)]
    public int InitialConcurrencyPerEndpoint { get; set; } = 8;

    /// <summary>Attempts in flight at once on this node.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrency { get; set; } = 256;

    /// <summary>
    /// While the API writes, the most attempts a second this node starts when deliveries arrive slower than that (a
    /// backlog's drain), so that the drain leaves the machine to the API; lowered while most API writes are slow and it
    /// holds sends back; 0: never paced (see <see cref="DrainPace"/>).
    /// </summary>
    [Range(0, 1_000_000)]
    public int PacedSendsPerSecond { get; set; } = DrainPace.DefaultPerSecond;

    /// <summary>How long a node holds a claimed delivery before another may take it (longer than an attempt's timeout).</summary>
    [Range(2, 3600)]
    public int ClaimSeconds { get; set; } = 30;

    /// <summary>An endpoint failing for this many days without one success is disabled.</summary>
    [Range(0.00001, 365)]
    public double DisableAfterDays { get; set; } = 5;

    /// <summary>Days deliveries, their attempts and events are kept.</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>How long the old secret keeps signing beside the new one after a rotation.</summary>
    [Range(0, 720)]
    public double RotationOverlapHours { get; set; } = 24;

    /// <summary>Characters of a receiver's answer kept in the attempt log.</summary>
    [Range(0, 65_536)]
    public int ResponseExcerptBytes { get; set; } = 2048;
}
