using System.Data.Common;
using System.Reflection;
using Dapper;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Storage;

/// <summary>
/// Applies the versioned SQL scripts embedded under <c>Storage/{Provider}/Migrations</c>, each in its own
/// transaction. A database newer than this build is refused, never silently downgraded. On PostgreSQL an
/// advisory lock makes nodes that start together apply each script once.
/// </summary>
public sealed class Migrator(Database database, ILogger<Migrator> logger)
{
    private const long PostgresMigrationLockId = 0x7465726E_0001; // "tern" + 1

    // A script may rebuild a large table and the lock waits for another node's migrations: neither has the deadline
    // that serving calls have (Tern:Database:TimeoutSeconds).
    private const int NoDeadline = 0;

    public static IReadOnlyList<Migration> Scripts(StorageProvider provider)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = $"{typeof(Migrator).Namespace}.{provider}.Migrations.";
        return [.. assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => Migration.FromResource(assembly, name, name[prefix.Length..^4]))
            .OrderBy(m => m.Version)];
    }

    /// <summary>Brings the schema to the newest version and returns it.</summary>
    public Task<int> MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(Scripts(database.Provider), cancellationToken);

    /// <summary>
    /// Applies, in order, every script numbered above the newest one applied. Numbers need not be consecutive: a
    /// number that belongs to a change this provider does not have is simply not there.
    /// </summary>
    internal async Task<int> MigrateAsync(IReadOnlyList<Migration> scripts, CancellationToken cancellationToken)
    {
        var latest = scripts.Count == 0 ? 0 : scripts[^1].Version;
        await using var connection = await database.OpenAsync(cancellationToken);
        if (database.Provider == StorageProvider.Postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_lock(@id)", new { id = PostgresMigrationLockId }, commandTimeout: NoDeadline, cancellationToken: cancellationToken));
        }

        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                cancellationToken: cancellationToken));
            var current = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken: cancellationToken));
            if (current > latest)
            {
                throw new InvalidOperationException(
                    $"The {database.Provider} database is at schema version {current}, newer than this build of Tern knows ({latest}). " +
                    "Run a Tern at least as new as the one that last migrated it.");
            }

            foreach (var script in scripts.Where(s => s.Version > current))
            {
                // SQLite's transactions here take the write lock at BEGIN, so a second process migrating the same file
                // waits, then finds the script applied (PostgreSQL is serialised by the advisory lock above).
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                        "SELECT COUNT(*) FROM schema_migrations WHERE version = @Version", new { script.Version }, transaction,
                        cancellationToken: cancellationToken)) > 0)
                {
                    continue;
                }

                await connection.ExecuteAsync(new CommandDefinition(script.Sql, transaction: transaction, commandTimeout: NoDeadline, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @At)",
                    new { script.Version, script.Name, At = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
                    transaction, cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                Log.MigrationApplied(logger, script.Version, script.Name, database.Provider.ToString());
            }

            Log.StorageReady(logger, database.Provider.ToString(), latest);
            return latest;
        }
        finally
        {
            if (database.Provider == StorageProvider.Postgres && connection.State == System.Data.ConnectionState.Open)
            {
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@id)", new { id = PostgresMigrationLockId });
            }
        }
    }
}

/// <summary>One versioned script, named <c>NNNN_description.sql</c>.</summary>
public sealed record Migration(int Version, string Name, string Sql)
{
    internal static Migration FromResource(Assembly assembly, string resource, string fileName)
    {
        var separator = fileName.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || !int.TryParse(fileName.AsSpan(0, separator), out var version))
        {
            throw new InvalidOperationException($"Migration '{fileName}' must be named NNNN_description.sql.");
        }

        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return new Migration(version, fileName[(separator + 1)..], reader.ReadToEnd());
    }
}

/// <summary>Runs the migrations before anything else starts (hosted services start in registration order).</summary>
internal sealed class StorageInitializer(Migrator migrator) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => migrator.MigrateAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Chooses and builds the provider from the bound options.</summary>
public static class StorageServiceCollectionExtensions
{
    public static IServiceCollection AddTernStorage(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Database>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value;
            var provider = options.Provider;
            if (provider.Equals("postgres", StringComparison.OrdinalIgnoreCase))
            {
                var connectionString = sp.GetRequiredService<IConfiguration>().GetConnectionString("Tern")
                    ?? throw new InvalidOperationException("Tern:Database:Provider is 'postgres' but ConnectionStrings:Tern is not set.");
                return new Postgres.PostgresDatabase(Postgres.PostgresDatabase.WithDeadlines(connectionString, options.TimeoutSeconds));
            }

            if (!provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Tern:Database:Provider must be 'sqlite' or 'postgres', not '{provider}'.");
            }

            var dataDir = sp.GetRequiredService<IOptions<TernOptions>>().Value.DataDir;
            return new Sqlite.SqliteDatabase(System.IO.Path.Combine(dataDir, "tern.db"));
        });
        services.AddSingleton<Migrator>();
        services.AddHostedService<StorageInitializer>();
        services.AddHostedService<Sqlite.SqliteCheckpointer>();
        services.AddHostedService<ChangeNoticeListener>();
        return services;
    }
}

internal static class DbExceptionExtensions
{
    public static bool IsUniqueViolation(this Database database, Exception exception) =>
        exception is DbException db && database.Dialect.IsUniqueViolation(db);
}
