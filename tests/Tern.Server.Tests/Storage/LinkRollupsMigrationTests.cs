using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>0020: every link clicked before it keeps the cells it has (on SQLite counted through the rollup mark).</summary>
public sealed class LinkRollupsMigrationTests : IAsyncDisposable
{
    private readonly SqliteBackend _backend = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LinksClickedBeforeKeepTheirCellsAndLinksNeverClickedReadTheirClicks()
    {
        var database = _backend.NewDatabase();
        await FreshDatabases.MigrateBelowAsync(database, 20, Ct);
        await using (var connection = await database.OpenAsync(Ct))
        {
            await connection.ExecuteAsync("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_m', 'm', 0)");
            foreach (var (id, clicks) in new[] { ("lnk_clicked", 7), ("lnk_quiet", 0) })
            {
                await connection.ExecuteAsync(
                    "INSERT INTO links (id, workspace_id, domain, slug, base_url, url, clicks, created_at, updated_at) " +
                    "VALUES (@id, 'ws_m', 'go.test', @id, 'https://example.com', 'https://example.com', @clicks, 0, 0)", new { id, clicks });
            }

            await connection.ExecuteAsync("UPDATE click_rollup_state SET rolled_up_through = 40, folded_through = 42");
        }

        await new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(Ct);

        await using var migrated = await database.OpenAsync(Ct);
        Assert.Equal([("lnk_clicked", 40L)], await migrated.QueryAsync<(string, long)>("SELECT link_id, counted_through FROM link_rollups"));
    }

    [Fact]
    public async Task OnPostgresLinksClickedBeforeKeepTheirCellsAndLinksNeverClickedReadTheirClicks()
    {
        var cleanup = new Stack<IAsyncDisposable>();
        try
        {
            var database = await FreshDatabases.PostgresAsync(cleanup.Push);
            await FreshDatabases.MigrateBelowAsync(database, 20, Ct);
            await using (var connection = await database.OpenAsync(Ct))
            {
                await connection.ExecuteAsync("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_m', 'm', 0)");
                foreach (var (id, clicks) in new[] { ("lnk_clicked", 7L), ("lnk_quiet", 0L) })
                {
                    await connection.ExecuteAsync(
                        "INSERT INTO links (id, workspace_id, domain, slug, base_url, url, clicks, created_at, updated_at) " +
                        "VALUES (@id, 'ws_m', 'go.test', @id, 'https://example.com', 'https://example.com', @clicks, 0, 0)", new { id, clicks });
                }
            }

            await new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(Ct);

            await using var migrated = await database.OpenAsync(Ct);
            Assert.Equal(["lnk_clicked"], await migrated.QueryAsync<string>("SELECT link_id FROM link_rollups"));
        }
        finally
        {
            while (cleanup.TryPop(out var disposable))
            {
                await disposable.DisposeAsync();
            }
        }
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
