using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>Raw clicks on PostgreSQL live in monthly partitions; retention drops whole months.</summary>
public sealed class ClickPartitionTests : IAsyncLifetime
{
    private readonly PostgresBackend _backend = new();
    private PostgresDatabase _database = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _backend.InitializeAsync();
        _database = new PostgresDatabase(NpgsqlDataSource.Create(_backend.ConnectionString));
    }

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DataSource.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }

    [Fact]
    public async Task MigrationMovesExistingClicksIntoTheirMonths()
    {
        await using (var connection = await _database.OpenAsync(Ct))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
            foreach (var script in Migrator.Scripts(StorageProvider.Postgres).Where(s => s.Version < 4))
            {
                await connection.ExecuteAsync(script.Sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@Version, @Name, 0)", new { script.Version, script.Name });
            }
        }

        var clicks = new[] { At(2025, 1, 15), At(2025, 3, 2), At(2025, 3, 31, 23) }.Select(Click).ToList();
        await using (var connection = await _database.OpenAsync(Ct))
        {
            // The columns clicks had before the partitions; later migrations add more.
            await connection.ExecuteAsync(
                "INSERT INTO clicks (id, workspace_id, link_id, slug, domain, ts, device, browser, os, is_bot) " +
                "VALUES (@Id, @WorkspaceId, @LinkId, @Slug, @Domain, @TimestampMs, @Device, @Browser, @Os, @IsBot)", clicks);
        }

        await new Migrator(_database, NullLogger<Migrator>.Instance).MigrateAsync(Ct);

        var now = DateTimeOffset.UtcNow;
        var thisMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var months = (await ClickPartitions.ListAsync(_database, Ct)).Select(p => p.Name).ToList();
        Assert.Equal(
            new[] { "clicks_2025_01", "clicks_2025_03" }.Concat(Enumerable.Range(0, 3).Select(i => $"clicks_{thisMonth.AddMonths(i):yyyy_MM}")),
            months);
        Assert.Equal(
            [("clicks_2025_01", clicks[0].Id), ("clicks_2025_03", clicks[1].Id), ("clicks_2025_03", clicks[2].Id)],
            await WhereAsync());
    }

    [Fact]
    public async Task ClicksOutsideEveryMonthGoToDefaultAndMoveWhenTheirMonthIsMade()
    {
        await MigrateAsync();
        // A month long past (a future one would do as well, but ids made for future instants would move the
        // process-wide id clock that other tests rely on).
        var late = Click(At(2020, 6, 10));

        await InsertAsync([late]);
        var before = await WhereAsync();
        await _database.PrepareClickStorageAheadAsync(At(2020, 5, 20), Ct);

        Assert.Equal([("clicks_default", late.Id)], before);
        Assert.Equal([("clicks_2020_06", late.Id)], await WhereAsync());
        Assert.Contains("clicks_2020_07", (await ClickPartitions.ListAsync(_database, Ct)).Select(p => p.Name));
    }

    [Fact]
    public async Task RetentionDropsWholeMonthsAndDeletesThePastPartOfTheStraddlingMonthOnceTheirLinkKeepsItsOwnCells()
    {
        await MigrateAsync();
        var clicks = new[] { At(2026, 1, 10), At(2026, 2, 10), At(2026, 3, 5), At(2026, 3, 20) }.Select(Click).ToList();
        await _database.PrepareClickStorageAheadAsync(At(2026, 1, 1), Ct);
        var tx = await InsertAsync(clicks);
        // Retention deletes only clicks the rollups hold.
        await new RangeRollups(_database, new ClickStore(_database), new ClickQueue(Options.Create(new ClickOptions())), Options.Create(new ClickOptions()), TimeProvider.System, NullLogger<RangeRollups>.Instance)
            .FoldPastAsync(tx, Ct);

        var purged = await new ClickStore(_database).PurgeOlderThanAsync(At(2026, 3, 15).ToUnixTimeMilliseconds(), Ct);

        Assert.Equal(3, purged);
        Assert.Equal([("clicks_2026_03", clicks[3].Id)], await WhereAsync());
        var months = (await ClickPartitions.ListAsync(_database, Ct)).Select(p => p.Name).ToList();
        Assert.DoesNotContain("clicks_2026_01", months);
        Assert.DoesNotContain("clicks_2026_02", months);
        // The link read its stats from its clicks; before they went, its own cells were counted from all four.
        await using var connection = await _database.OpenAsync(Ct);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM link_rollups WHERE link_id = 'lnk_partitioned'"));
        Assert.Equal(4, await connection.ExecuteScalarAsync<long>(
            "SELECT SUM(clicks) FROM click_rollups WHERE scope_id = 'lnk_partitioned' AND granularity = 'd' AND dimension = 'total'"));
        Assert.Equal(4, await connection.ExecuteScalarAsync<long>(
            "SELECT SUM(clicks) FROM click_rollups WHERE scope_id = 'lnk_partitioned' AND granularity = 'd' AND dimension = 'browser' AND key = 'Firefox'"));
    }

    private Task MigrateAsync() => new Migrator(_database, NullLogger<Migrator>.Instance).MigrateAsync(Ct);

    /// <summary>Stores the clicks in one transaction, and returns it.</summary>
    private Task<ulong> InsertAsync(IReadOnlyList<Click> clicks) =>
        _database.WriteAsync(async (connection, transaction) =>
        {
            await new ClickStore(_database).InsertAsync(connection, transaction, clicks, Ct);
            return await ClickStore.CurrentTransactionAsync(connection, transaction, Ct);
        }, Ct);

    /// <summary>Which partition holds each click, by id.</summary>
    private async Task<List<(string Partition, string Id)>> WhereAsync()
    {
        await using var connection = await _database.OpenAsync(Ct);
        return [.. await connection.QueryAsync<(string, string)>("SELECT tableoid::regclass::text, id FROM clicks ORDER BY id")];
    }

    private static DateTimeOffset At(int year, int month, int day, int hour = 12) => new(year, month, day, hour, 0, 0, TimeSpan.Zero);

    private static Click Click(DateTimeOffset at) => new()
    {
        Id = Ids.New("clk", at.ToUnixTimeMilliseconds()),
        WorkspaceId = "ws_default",
        LinkId = "lnk_partitioned",
        Slug = "partitioned",
        Domain = "go.test",
        TimestampMs = at.ToUnixTimeMilliseconds(),
        Device = "desktop",
        Browser = "Firefox",
        Os = "Linux",
        IsBot = false,
    };
}
