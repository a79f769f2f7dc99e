using Npgsql;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

public sealed class StorageComplianceOnPostgres : StorageCompliance
{
    protected override async Task<Database> CreateDatabaseAsync()
    {
        var backend = new PostgresBackend();
        await backend.InitializeAsync();
        DisposeAfterTest(backend);
        var database = new PostgresDatabase(NpgsqlDataSource.Create(backend.ConnectionString));
        DisposeAfterTest(database.DataSource);
        return database;
    }
}
