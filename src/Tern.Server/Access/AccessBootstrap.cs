using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>
/// At start-up: makes sure the default workspace exists, registers <c>Tern:AdminKey</c> when it is set and
/// unknown, and otherwise, when no active key exists at all, creates one and prints it once.
/// </summary>
internal sealed class AccessBootstrap(
    AccessStore store, IOptions<TernOptions> options, ILogger<AccessBootstrap> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.CreateWorkspaceAsync("Default", cancellationToken, AccessStore.DefaultWorkspaceId);
        var configured = options.Value.AdminKey;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            if (!ApiKeySecret.IsWellFormed(configured))
            {
                throw new InvalidOperationException(
                    "Tern:AdminKey must start with 'tern_' followed by at least 16 letters, digits, '-' or '_'.");
            }

            var (key, created) = await store.RegisterKeyAsync(
                configured, AccessStore.DefaultWorkspaceId, "Admin (Tern:AdminKey)", Scopes.All, cancellationToken);
            if (created)
            {
                Log.AdminKeyRegistered(logger, key.Prefix, key.WorkspaceId);
            }

            return;
        }

        if (await store.CountActiveKeysAsync(cancellationToken) > 0)
        {
            return;
        }

        var secret = ApiKeySecret.Generate();
        var (first, _) = await store.RegisterKeyAsync(
            secret, AccessStore.DefaultWorkspaceId, "First admin key", Scopes.All, cancellationToken);
        // Printed on standard output only, so that the secret does not travel to log sinks.
        Console.Out.WriteLine($"""

            ==================================================================
             Tern created a first API key with every scope. It is shown once:

                 {secret}

             Use it as: Authorization: Bearer {first.Prefix}…
            ==================================================================

            """);
        Log.FirstKeyCreated(logger, first.Prefix);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
