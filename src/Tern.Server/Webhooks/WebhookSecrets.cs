using System.Collections.Concurrent;
using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

/// <summary>
/// Webhook signing secrets at rest: Tern must sign with them, so they cannot be hashed like API keys; they are
/// encrypted with ASP.NET Core Data Protection (its key ring lives outside the database, see
/// <c>Tern:DataProtection:KeysPath</c>) and stored as <c>dp1:</c> followed by the protected text. A secret stored in
/// plaintext by an earlier version (<c>whsec_…</c>) is still read as it is, and <see cref="EncryptStoredAsync"/>
/// encrypts such rows at start-up. Reading caches what it decrypted, by ciphertext, so a claim of deliveries does not
/// pay for decryption again.
/// </summary>
public sealed class WebhookSecrets(IDataProtectionProvider provider)
{
    public const string Marker = "dp1:";
    private const int MaxCached = 10_000;

    private readonly IDataProtector _protector = provider.CreateProtector("Tern.Webhooks.SigningSecret.v1");
    private readonly ConcurrentDictionary<string, string> _plain = new(StringComparer.Ordinal);

    public string Protect(string secret) => Marker + _protector.Protect(secret);

    public string Unprotect(string stored)
    {
        if (!stored.StartsWith(Marker, StringComparison.Ordinal))
        {
            return stored; // plaintext from before encryption at rest; EncryptStoredAsync rewrites it
        }

        if (_plain.TryGetValue(stored, out var secret))
        {
            return secret;
        }

        secret = _protector.Unprotect(stored[Marker.Length..]);
        if (_plain.Count >= MaxCached)
        {
            _plain.Clear();
        }

        _plain[stored] = secret;
        return secret;
    }

    /// <summary>Encrypts every secret still stored in plaintext; returns how many rows changed.</summary>
    public async Task<int> EncryptStoredAsync(Database database, CancellationToken cancellationToken)
    {
        IReadOnlyList<(string Id, string Secret, string? PreviousSecret)> rows;
        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            rows = [.. await connection.QueryAsync<(string, string, string?)>(new CommandDefinition(
                "SELECT id, secret, previous_secret FROM webhooks WHERE secret NOT LIKE 'dp1:%' OR previous_secret NOT LIKE 'dp1:%'",
                cancellationToken: cancellationToken))];
        }

        foreach (var (id, secret, previous) in rows)
        {
            await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE webhooks SET secret = @secret, previous_secret = @previous
                WHERE id = @id AND secret = @oldSecret
                """,
                new
                {
                    id,
                    oldSecret = secret,
                    secret = secret.StartsWith(Marker, StringComparison.Ordinal) ? secret : Protect(secret),
                    previous = previous is null || previous.StartsWith(Marker, StringComparison.Ordinal) ? previous : Protect(previous),
                },
                transaction, cancellationToken: cancellationToken)), cancellationToken);
        }

        return rows.Count;
    }
}

/// <summary>At start-up, encrypts webhook secrets that an earlier version stored in plaintext.</summary>
internal sealed class WebhookSecretMigration(WebhookSecrets secrets, Database database, ILogger<WebhookSecretMigration> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var encrypted = await secrets.EncryptStoredAsync(database, cancellationToken);
        if (encrypted > 0)
        {
            Log.WebhookSecretsEncrypted(logger, encrypted);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
