using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tern.Server.Clicks;
using Tern.Server.Hosting;
using Tern.Server.Storage;
using Tern.Server.Storage.Postgres;
using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Clicks;

/// <summary>PostgreSQL adds stored clicks to the rollups behind the writer, by ranges of the transactions that stored them.</summary>
public sealed class RangeRollupsTests : MigratedDatabaseTest
{
    private RangeRollups _rollups = null!;

    private PostgresDatabase Postgres => (PostgresDatabase)Database;

    protected override Task<Database> CreateDatabaseAsync() => FreshDatabases.PostgresAsync(DisposeAfterTest);

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var options = Options.Create(new ClickOptions());
        _rollups = new RangeRollups(Database, new ClickStore(Database), new ClickQueue(options), options, TimeProvider.System, NullLogger<RangeRollups>.Instance);
    }

    [Fact]
    public async Task AFoldWritesTheSameCellsAsTheSumsSqliteGathersInMemory()
    {
        var clicks = Clicks(300, seed: 1);
        string[] own = ["lnk_ws_a_0", "lnk_ws_a_3", "lnk_ws_b_1"];
        await using (var connection = await Database.OpenAsync(Ct))
        {
            await connection.ExecuteAsync("INSERT INTO link_rollups (link_id) SELECT unnest(@own)", new { own });
        }

        var tx = await InsertAsync(clicks);

        await _rollups.FoldPastAsync(tx, Ct);

        var expected = ClickFolder.Sum(clicks, (click, _) => own.Contains(click.LinkId));
        var stored = await CellsAsync();
        Assert.Equal(expected.Count, stored.Count);
        foreach (var (key, count) in expected)
        {
            Assert.True(stored.TryGetValue(key, out var got), $"no cell {key}");
            Assert.Equal(count, got);
        }
    }

    [Fact]
    public async Task EachFoldTakesOnlyTheClicksAfterTheMarkSoNoneIsCountedTwice()
    {
        var first = Clicks(50, seed: 2);
        var second = Clicks(70, seed: 3);
        await _rollups.FoldPastAsync(await InsertAsync(first), Ct);
        var tx = await InsertAsync(second);

        await _rollups.FoldPastAsync(tx, Ct);
        await _rollups.FoldOnceAsync(Ct);

        Assert.Equal(ClickFolder.Sum([.. first, .. second], (_, _) => false).Where(c => c.Key.Dimension == "total").ToDictionary(),
            (await CellsAsync()).Where(c => c.Key.Dimension == "total").ToDictionary());
    }

    [Fact]
    public async Task ClicksOfATransactionStillOpenWaitForTheFoldAfterItsCommit()
    {
        var early = Clicks(10, seed: 4);
        var late = Clicks(20, seed: 5);
        await using var open = await Postgres.DataSource.OpenConnectionAsync(Ct);
        await using var transaction = await open.BeginTransactionAsync(Ct);
        await new ClickStore(Database).InsertAsync(open, transaction, late, Ct);
        var lateTx = await ClickStore.CurrentTransactionAsync(open, transaction, Ct);
        var earlyTx = await InsertAsync(early); // committed first, by a later transaction

        var markWhileOpen = await _rollups.FoldOnceAsync(Ct);
        var totalWhileOpen = await TotalAsync();
        await transaction.CommitAsync(Ct);
        var markAfter = await _rollups.FoldPastAsync(Math.Max(lateTx, earlyTx), Ct);

        // The horizon stops at the open transaction: nothing after it is folded, not even the committed clicks.
        Assert.True(markWhileOpen <= lateTx, $"mark {markWhileOpen} passed the open transaction {lateTx}");
        Assert.Equal(0, totalWhileOpen);
        Assert.True(markAfter > lateTx);
        Assert.Equal(early.Count + late.Count, await TotalAsync());
    }

    [Fact]
    public async Task TheLoopCountsThisNodesClicksOnceTheMarkPassesTheirTransaction()
    {
        var clicks = Clicks(40, seed: 6);
        var tx = await InsertAsync(clicks);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var loop = _rollups.RunAsync(stop.Token);
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _rollups.Progressed += () => progressed.TrySetResult();

        _rollups.Stored(tx, clicks.Count);
        await progressed.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        _rollups.Complete();
        await loop.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.Equal(clicks.Count, _rollups.RolledUp);
        Assert.Equal(0, _rollups.Waiting);
        Assert.Equal(clicks.Count, await TotalAsync());
    }

    [Fact]
    public async Task RetentionKeepsClicksTheRollupsDoNotHoldYet()
    {
        var old = Clicks(5, seed: 7);
        var tx = await InsertAsync(old);
        var cutoff = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds();

        var purgedBefore = await new ClickStore(Database).PurgeOlderThanAsync(cutoff, Ct);
        await _rollups.FoldPastAsync(tx, Ct);
        var purgedAfter = await new ClickStore(Database).PurgeOlderThanAsync(cutoff, Ct);

        Assert.Equal(0, purgedBefore);
        Assert.Equal(old.Count, purgedAfter);
    }

    private async Task<ulong> InsertAsync(IReadOnlyList<Click> clicks) =>
        await Database.WriteAsync(async (connection, transaction) =>
        {
            await new ClickStore(Database).InsertAsync(connection, transaction, clicks, Ct);
            return await ClickStore.CurrentTransactionAsync(connection, transaction, Ct);
        }, Ct);

    private async Task<Dictionary<RollupKey, long>> CellsAsync()
    {
        await using var connection = await Database.OpenAsync(Ct);
        var rows = await connection.QueryAsync<(string Scope, string Granularity, long Bucket, string Dimension, string Key, long Clicks)>(
            "SELECT scope_id, granularity, bucket, dimension, key, clicks FROM click_rollups");
        return rows.ToDictionary(r => new RollupKey(r.Scope, r.Granularity[0], r.Bucket, r.Dimension, r.Key), r => r.Clicks);
    }

    private async Task<long> TotalAsync()
    {
        await using var connection = await Database.OpenAsync(Ct);
        return await connection.ExecuteScalarAsync<long>(
            "SELECT COALESCE(SUM(clicks), 0) FROM click_rollups WHERE granularity = 'd' AND dimension = 'total' AND scope_id LIKE 'ws_%'");
    }

    /// <summary>Clicks spread over links, workspaces, hours and days, with and without the optional fields.</summary>
    private static List<Click> Clicks(int count, int seed)
    {
        var random = new Random(seed);
        var now = DateTimeOffset.UtcNow.AddDays(-3).ToUnixTimeMilliseconds();
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var at = now - random.NextInt64(0, 2 * ClickStore.DayMs);
            var workspace = random.Next(2) == 0 ? "ws_a" : "ws_b";
            return new Click
            {
                Id = Ids.New("clk", at),
                WorkspaceId = workspace,
                LinkId = $"lnk_{workspace}_{random.Next(6)}",
                Slug = "s",
                Domain = "go.test",
                TimestampMs = at,
                Device = Pick(random, "desktop", "mobile", "tablet")!,
                Browser = Pick(random, "Chrome", "Firefox", "Safari")!,
                Os = Pick(random, "Linux", "iOS", "Windows")!,
                Country = Pick(random, "DE", "US", null),
                ReferrerHost = Pick(random, "news.example", "mail.example", null),
                Destination = Pick(random, "https://example.com/a", "https://example.com/b", null),
                IsBot = random.Next(10) == 0,
            };
        })];
    }

    private static string? Pick(Random random, params string?[] values) => values[random.Next(values.Length)];
}
