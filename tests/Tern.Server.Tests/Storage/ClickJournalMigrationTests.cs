using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Tern.Server.Storage;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>SQLite 0019: a database written before the click journal keeps every click and what its marks mean.</summary>
public sealed class ClickJournalMigrationTests : IAsyncDisposable
{
    private readonly SqliteBackend _backend = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ClicksNotYetRolledUpMoveToTheJournalAndThoseNotYetFoldedLeaveClicks()
    {
        var database = _backend.NewDatabase();
        await FreshDatabases.MigrateBelowAsync(database, 19, Ct);
        await using (var connection = await database.OpenAsync(Ct))
        {
            foreach (var n in Enumerable.Range(1, 10))
            {
                await connection.ExecuteAsync(
                    "INSERT INTO clicks (rowid, id, workspace_id, link_id, slug, domain, ts, device, browser, os, is_bot) " +
                    "VALUES (@n, 'clk_' || @n, 'ws_default', 'lnk_1', 's', 'go.test', @n, 'mobile', 'Safari', 'iOS', 0)", new { n });
            }

            // Clicks 1-4 are in the rollups, 5-7 folded into counts and events only, 8-10 stored only.
            await connection.ExecuteAsync("UPDATE click_rollup_state SET rolled_up_through = 4, folded_through = 7");
        }

        await new Migrator(database, NullLogger<Migrator>.Instance).MigrateAsync(Ct);

        await using var migrated = await database.OpenAsync(Ct);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], await migrated.QueryAsync<long>("SELECT rowid FROM clicks ORDER BY rowid"));
        Assert.Equal([5L, 6, 7, 8, 9, 10], await migrated.QueryAsync<long>("SELECT rowid FROM click_journal ORDER BY rowid"));
        Assert.Equal(["clk_5", "clk_10"], await migrated.QueryAsync<string>("SELECT id FROM click_journal WHERE rowid IN (5, 10) ORDER BY rowid"));
        Assert.Equal((4L, 7L), await migrated.QuerySingleAsync<(long, long)>("SELECT rolled_up_through, folded_through FROM click_rollup_state"));
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
