namespace Tern.Client;

/// <summary>Where Tern is and how the client talks to it.</summary>
public sealed class TernClientOptions
{
    /// <summary>The server's origin, for example <c>https://go.example.com</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>The API key (<c>tern_…</c>) sent as a bearer token.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Retries after a 429, a 502/503/504 or a network failure; 0 turns retries off.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>The first backoff delay; later ones grow exponentially with jitter. A Retry-After header wins over it.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one attempt may take before it is abandoned (and retried).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);
}
