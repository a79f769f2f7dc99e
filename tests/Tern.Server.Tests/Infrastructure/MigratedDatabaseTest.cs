using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Tern.Server.Access;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;

namespace Tern.Server.Tests.Infrastructure;

/// <summary>
/// A test with a fresh, migrated database holding the default workspace, on storage of its own that goes with the
/// test; subclasses say which provider (<see cref="FreshDatabases"/>).
/// </summary>
public abstract class MigratedDatabaseTest : IAsyncLifetime
{
    private readonly Stack<IAsyncDisposable> _cleanup = new();

    protected Database Database { get; private set; } = null!;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync()
    {
        Database = await CreateDatabaseAsync();
        await MigratorFor(Database).MigrateAsync(Ct);
        await new AccessStore(Database, TimeProvider.System).CreateWorkspaceAsync("Default", Ct, AccessStore.DefaultWorkspaceId);
    }

    public async ValueTask DisposeAsync()
    {
        while (_cleanup.TryPop(out var disposable))
        {
            await disposable.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>An empty database, not migrated, on its own storage; disposed with the test.</summary>
    protected abstract Task<Database> CreateDatabaseAsync();

    protected void DisposeAfterTest(IAsyncDisposable disposable) => _cleanup.Push(disposable);

    protected static Migrator MigratorFor(Database database) => new(database, NullLogger<Migrator>.Instance);
}

/// <summary>Empty databases on storage of their own: a SQLite file in a temporary folder, a database on the test cluster.</summary>
public static class FreshDatabases
{
    public static Task<Database> SqliteAsync(Action<IAsyncDisposable> disposeAfterTest)
    {
        var backend = new SqliteBackend();
        disposeAfterTest(backend);
        return Task.FromResult<Database>(backend.NewDatabase());
    }

    /// <summary>Migrates <paramref name="database"/> with this build's scripts numbered below <paramref name="version"/>: a database as an older Tern left it.</summary>
    public static Task MigrateBelowAsync(Database database, int version, CancellationToken cancellationToken) =>
        new Migrator(database, NullLogger<Migrator>.Instance)
            .MigrateAsync([.. Migrator.Scripts(database.Provider).Where(s => s.Version < version)], cancellationToken);

    public static async Task<Database> PostgresAsync(Action<IAsyncDisposable> disposeAfterTest)
    {
        var backend = new PostgresBackend();
        await backend.InitializeAsync();
        disposeAfterTest(backend);
        var database = new PostgresDatabase(NpgsqlDataSource.Create(backend.ConnectionString));
        disposeAfterTest(database.DataSource);
        return database;
    }
}
