using Tern.Server.Storage;
using Tern.Server.Storage.Sqlite;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

public sealed class StorageComplianceOnSqlite : StorageCompliance
{
    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.SqliteAsync(DisposeAfterTest);
}
