using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tern.Contracts;

namespace Tern.Client;

/// <summary>
/// Checks that a webhook came from Tern, as the Standard Webhooks specification says: <c>webhook-signature</c> holds
/// one or more <c>v1,&lt;base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"&gt;</c> keyed by the secret after <c>whsec_</c>,
/// and <c>webhook-timestamp</c> lies within the tolerance of now (a replayed old delivery is refused).
/// </summary>
public sealed class WebhookVerifier
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    private readonly byte[] _key;
    private readonly TimeProvider _time;

    /// <param name="secret">The subscription's secret, <c>whsec_…</c>.</param>
    public WebhookVerifier(string secret, TimeProvider? time = null)
    {
        _key = WebhookSignature.KeyOf(secret);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How far the timestamp may be from now; default 5 minutes.</summary>
    public TimeSpan Tolerance { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Verifies the delivery and returns its event.</summary>
    /// <param name="header">Looks a request header up by name (case-insensitive), null when absent.</param>
    /// <exception cref="WebhookVerificationException">The delivery is not authentic or too old.</exception>
    public EventEnvelope Verify(string body, Func<string, string?> header)
    {
        Verify(body, header(IdHeader), header(TimestampHeader), header(SignatureHeader));
        return JsonSerializer.Deserialize(body, TernJsonContext.Default.EventEnvelope)
            ?? throw new WebhookVerificationException("The body is not an event.");
    }

    /// <summary>Verifies the raw body against the three Standard Webhooks headers.</summary>
    /// <exception cref="WebhookVerificationException">The delivery is not authentic or too old.</exception>
    public void Verify(string body, string? id, string? timestamp, string? signatures)
    {
        if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signatures))
        {
            throw new WebhookVerificationException("The webhook-id, webhook-timestamp and webhook-signature headers are required.");
        }

        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new WebhookVerificationException("webhook-timestamp is not a number of Unix seconds.");
        }

        var age = _time.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(seconds);
        if (age.Duration() > Tolerance)
        {
            throw new WebhookVerificationException("webhook-timestamp is too far from now.");
        }

        var expected = Convert.FromBase64String(WebhookSignature.Compute(_key, id, timestamp, body));
        foreach (var candidate in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = candidate.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || candidate.AsSpan(0, comma) is not "v1")
            {
                continue;
            }

            var signature = new byte[expected.Length];
            if (Convert.TryFromBase64String(candidate[(comma + 1)..], signature, out var written) && written == expected.Length
                && CryptographicOperations.FixedTimeEquals(signature, expected))
            {
                return;
            }
        }

        throw new WebhookVerificationException("No signature matches the secret.");
    }
}

/// <summary>The Standard Webhooks signature as pure functions: what Tern signs with and what a receiver recomputes.</summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A new random secret, <c>whsec_</c> and 32 bytes in base64.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The <c>webhook-signature</c> header value for one secret: <c>v1,&lt;base64&gt;</c>.</summary>
    public static string Sign(string secret, string id, string timestamp, string body) =>
        "v1," + Compute(KeyOf(secret), id, timestamp, body);

    internal static string Compute(byte[] key, string id, string timestamp, string body) =>
        Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));

    internal static byte[] KeyOf(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);
}

public sealed class WebhookVerificationException(string message) : Exception(message);
