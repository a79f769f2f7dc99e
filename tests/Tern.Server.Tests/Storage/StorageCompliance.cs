using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Hosting;
using Tern.Server.Links;
using Tern.Server.Storage;

using Tern.Server.Tests.Infrastructure;

namespace Tern.Server.Tests.Storage;

/// <summary>
/// What every storage provider must do the same way. Each test gets a fresh, migrated database holding the
/// default workspace; subclasses say how to make one.
/// </summary>
public abstract class StorageCompliance : MigratedDatabaseTest
{
    private const string Domain = "go.test";
    private const string OtherWorkspaceId = "ws_other";

    private long _nextCreatedAt = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    private LinkStore Links => new(Database);

    private AccessStore Access => new(Database, TimeProvider.System);

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await Access.CreateWorkspaceAsync("Other", Ct, OtherWorkspaceId);
    }

    private int LatestVersion => Migrator.Scripts(Database.Provider)[^1].Version;

    /// <summary>Migrates the test's database with this build's scripts and one more.</summary>
    private Task<int> MigrateWithAsync(Migration next) => MigratorFor(Database).MigrateAsync([.. Migrator.Scripts(Database.Provider), next], Ct);

    [Fact]
    public async Task MigrationsBringAnEmptyDatabaseToTheNewestVersion()
    {
        var database = await CreateDatabaseAsync();

        var version = await MigratorFor(database).MigrateAsync(Ct);

        Assert.Equal(LatestVersion, version);
        Assert.Equal(Migrator.Scripts(database.Provider).Count, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(0, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM links"));
    }

    [Fact]
    public async Task MigratingAgainChangesNothing()
    {
        var history = await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM schema_migrations");

        var version = await MigratorFor(Database).MigrateAsync(Ct);

        Assert.Equal(LatestVersion, version);
        Assert.Equal(LatestVersion, await ScalarAsync<int>(Database, "SELECT MAX(version) FROM schema_migrations"));
        Assert.Equal(history, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task DatabaseNewerThanThisBuildIsRefused()
    {
        var future = LatestVersion + 1;
        await ExecuteAsync(Database,
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@future, 'from_the_future', 0)", new { future });

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => MigratorFor(Database).MigrateAsync(Ct));

        Assert.Contains($"schema version {future}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("newer", refused.Message, StringComparison.Ordinal);
        // A refusal must not keep the migration lock: a second node asking gets the same answer, not a hang.
        var again = MigratorFor(Database).MigrateAsync(Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => again.WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }

    [Fact]
    public async Task MigrationsSkipNumbersThisProviderDoesNotUse()
    {
        var next = LatestVersion + 2;

        var version = await MigrateWithAsync(new Migration(next, "after_a_gap", "CREATE TABLE after_a_gap (id INTEGER PRIMARY KEY)"));

        Assert.Equal(next, version);
        Assert.Equal(0, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM after_a_gap"));
        Assert.Equal(0, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM schema_migrations WHERE version = @gap", new { gap = next - 1 }));
    }

    [Fact]
    public async Task AScriptWithNothingToDoIsRecordedUnderItsNumber()
    {
        var next = LatestVersion + 1;

        var version = await MigrateWithAsync(new Migration(next, "elsewhere_only", "-- Nothing to do on this provider.\n"));

        Assert.Equal(next, version);
        Assert.Equal("elsewhere_only", await ScalarAsync<string>(Database, "SELECT name FROM schema_migrations WHERE version = @next", new { next }));
    }

    [Fact]
    public async Task ConcurrentMigrationsApplyEachScriptOnce()
    {
        var database = await CreateDatabaseAsync();

        var versions = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(_ => Task.Run(() => MigratorFor(database).MigrateAsync(Ct), Ct)));

        Assert.All(versions, version => Assert.Equal(LatestVersion, version));
        Assert.Equal(Migrator.Scripts(database.Provider).Count, await ScalarAsync<long>(database, "SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task PingAnswersTrueWhenStorageIsReachable() => Assert.True(await Database.PingAsync(Ct));

    [Fact]
    public async Task InsertedLinkReadsBackWithEveryField()
    {
        var link = NewLink("every-field") with
        {
            BaseUrl = "https://example.com/landing",
            Url = "https://example.com/landing?utm_source=news&utm_campaign=spring",
            Utm = new UtmParameters { Source = "news", Campaign = "spring" },
            Tags = ["b-tag", "a-tag"],
            ExternalId = "crm-1",
            Title = "Spring sale",
            ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds(_nextCreatedAt + 86_400_000),
            ExpiredUrl = "https://example.com/over",
            MaxClicks = 10_000_000_000,
            RedirectType = 308,
            ForwardQuery = false,
            Archived = true,
            Clicks = 7,
        };

        Assert.True(await InsertAsync(link));

        var found = await Links.FindAsync(AccessStore.DefaultWorkspaceId, link.Id, Ct);
        Assert.NotNull(found);
        Assert.True(link.SameDefinitionAs(found), $"stored {found}");
        Assert.Equal(["b-tag", "a-tag"], found.Tags);
        Assert.Equal((link.Id, link.WorkspaceId, link.Clicks, link.CreatedAt, link.UpdatedAt),
            (found.Id, found.WorkspaceId, found.Clicks, found.CreatedAt, found.UpdatedAt));
        Assert.Equal(link.Id, (await Links.FindBySlugAsync(Domain, "every-field", Ct))?.Id);
        Assert.Equal(link.Id, (await ReadAsync(c => LinkStore.FindByExternalIdAsync(c, null, AccessStore.DefaultWorkspaceId, "crm-1", Ct)))?.Id);
    }

    [Fact]
    public async Task LinkWithOnlyRequiredFieldsReadsBackWithDefaults()
    {
        var link = NewLink("bare");
        Assert.True(await InsertAsync(link));

        var found = await Links.FindAsync(AccessStore.DefaultWorkspaceId, link.Id, Ct);

        Assert.NotNull(found);
        Assert.True(link.SameDefinitionAs(found), $"stored {found}");
        Assert.Null(found.Utm);
        Assert.Empty(found.Tags);
        Assert.Null(found.ExpiresAt);
        Assert.Null(found.MaxClicks);
    }

    [Fact]
    public async Task LinksAreFoundOnlyInTheirWorkspace()
    {
        var link = NewLink("scoped");
        Assert.True(await InsertAsync(link));

        Assert.Null(await Links.FindAsync(OtherWorkspaceId, link.Id, Ct));
        Assert.Null(await ReadAsync(c => LinkStore.FindByExternalIdAsync(c, null, OtherWorkspaceId, link.ExternalId ?? "none", Ct)));
        Assert.Empty(await Links.ListAsync(OtherWorkspaceId, NoFilter, null, 50, Ct));
        // The redirect resolves by domain and slug alone, whichever workspace owns the link.
        Assert.Equal(link.Id, (await Links.FindBySlugAsync(Domain, "scoped", Ct))?.Id);
    }

    [Fact]
    public async Task SecondInsertOfTheSameSlugKeepsOneRow()
    {
        var first = NewLink("taken") with { Tags = ["first"] };
        var second = NewLink("taken") with { Url = "https://example.com/second", Tags = ["second"] };

        Assert.True(await InsertAsync(first));
        Assert.False(await InsertAsync(second));

        Assert.Equal(1, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM links WHERE slug = 'taken'"));
        Assert.Equal(first.Id, (await Links.FindBySlugAsync(Domain, "taken", Ct))?.Id);
        Assert.Equal(0, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM link_tags WHERE link_id = @Id", new { second.Id }));
    }

    [Fact]
    public async Task SameSlugOnAnotherDomainIsAnotherLink()
    {
        Assert.True(await InsertAsync(NewLink("shared")));
        Assert.True(await InsertAsync(NewLink("shared") with { Domain = "brand.test" }));

        Assert.NotEqual((await Links.FindBySlugAsync(Domain, "shared", Ct))?.Id, (await Links.FindBySlugAsync("brand.test", "shared", Ct))?.Id);
    }

    [Fact]
    public async Task SecondInsertOfTheSameExternalIdKeepsOneRow()
    {
        var first = NewLink("ext-a") with { ExternalId = "order-42" };

        Assert.True(await InsertAsync(first));
        Assert.False(await InsertAsync(NewLink("ext-b") with { ExternalId = "order-42" }));

        Assert.Equal(1, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM links WHERE external_id = 'order-42'"));
        Assert.Equal(first.Id, (await ReadAsync(c => LinkStore.FindByExternalIdAsync(c, null, AccessStore.DefaultWorkspaceId, "order-42", Ct)))?.Id);
    }

    [Fact]
    public async Task ExternalIdsAreUniquePerWorkspaceOnly()
    {
        Assert.True(await InsertAsync(NewLink("ext-mine") with { ExternalId = "same" }));
        Assert.True(await InsertAsync(NewLink("ext-theirs", OtherWorkspaceId) with { ExternalId = "same" }));
        // Links without an externalId never collide with each other.
        Assert.True(await InsertAsync(NewLink("no-ext-1")));
        Assert.True(await InsertAsync(NewLink("no-ext-2")));
    }

    [Fact]
    public async Task SlugsAreCaseSensitive()
    {
        var upper = NewLink("Abc");
        var lower = NewLink("abc");

        Assert.True(await InsertAsync(upper));
        Assert.True(await InsertAsync(lower));

        Assert.Equal(upper.Id, (await Links.FindBySlugAsync(Domain, "Abc", Ct))?.Id);
        Assert.Equal(lower.Id, (await Links.FindBySlugAsync(Domain, "abc", Ct))?.Id);
        Assert.Null(await Links.FindBySlugAsync(Domain, "ABC", Ct));
    }

    [Fact]
    public async Task UpdateWritesTheFieldsAndReplacesTheTags()
    {
        var link = NewLink("before") with { Tags = ["old", "kept"], Title = "Old" };
        Assert.True(await InsertAsync(link));
        var changed = link with
        {
            Slug = "after",
            Url = "https://example.com/new",
            BaseUrl = "https://example.com/new",
            Tags = ["kept", "new"],
            Title = null,
            Archived = true,
            RedirectType = 301,
            UpdatedAt = link.UpdatedAt.AddMinutes(5),
        };

        await Database.WriteAsync(async (c, t) => { await Links.UpdateAsync(c, t, changed, false, Ct); return 0; }, Ct);

        var found = await Links.FindAsync(AccessStore.DefaultWorkspaceId, link.Id, Ct);
        Assert.NotNull(found);
        Assert.True(changed.SameDefinitionAs(found), $"stored {found}");
        Assert.Equal(changed.UpdatedAt, found.UpdatedAt);
        Assert.Equal(link.CreatedAt, found.CreatedAt);
        Assert.Null(await Links.FindBySlugAsync(Domain, "before", Ct));
        Assert.Empty(await Links.ListAsync(AccessStore.DefaultWorkspaceId, NoFilter with { Tag = "old" }, null, 50, Ct));
        Assert.Single(await Links.ListAsync(AccessStore.DefaultWorkspaceId, NoFilter with { Tag = "new" }, null, 50, Ct));
    }

    [Fact]
    public async Task UpdateToATakenSlugIsAUniqueViolation()
    {
        Assert.True(await InsertAsync(NewLink("occupied")));
        var link = NewLink("mine");
        Assert.True(await InsertAsync(link));

        var error = await Assert.ThrowsAnyAsync<DbException>(() => Database.WriteAsync(
            async (c, t) => { await Links.UpdateAsync(c, t, link with { Slug = "occupied" }, false, Ct); return 0; }, Ct));

        Assert.True(Database.Dialect.IsUniqueViolation(error), error.ToString());
        Assert.Equal("mine", (await Links.FindAsync(AccessStore.DefaultWorkspaceId, link.Id, Ct))?.Slug);
    }

    [Fact]
    public async Task UpdateToATakenExternalIdIsAUniqueViolation()
    {
        Assert.True(await InsertAsync(NewLink("holder") with { ExternalId = "held" }));
        var link = NewLink("seeker");
        Assert.True(await InsertAsync(link));

        var error = await Assert.ThrowsAnyAsync<DbException>(() => Database.WriteAsync(
            async (c, t) => { await Links.UpdateAsync(c, t, link with { ExternalId = "held" }, false, Ct); return 0; }, Ct));

        Assert.True(Database.Dialect.IsUniqueViolation(error), error.ToString());
    }

    [Fact]
    public async Task DeleteReturnsTheLinkAndRemovesItWithItsTags()
    {
        var link = NewLink("doomed") with { Tags = ["t"] };
        Assert.True(await InsertAsync(link));

        Assert.Null(await Database.WriteAsync((c, t) => Links.DeleteAsync(c, t, OtherWorkspaceId, link.Id, Ct), Ct));
        var deleted = await Database.WriteAsync((c, t) => Links.DeleteAsync(c, t, AccessStore.DefaultWorkspaceId, link.Id, Ct), Ct);

        Assert.True(deleted is not null && link.SameDefinitionAs(deleted) && deleted.Id == link.Id, $"deleted {deleted}");
        Assert.Null(await Links.FindAsync(AccessStore.DefaultWorkspaceId, link.Id, Ct));
        Assert.Equal(0, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM link_tags WHERE link_id = @Id", new { link.Id }));
        Assert.Null(await Database.WriteAsync((c, t) => Links.DeleteAsync(c, t, AccessStore.DefaultWorkspaceId, link.Id, Ct), Ct));
    }

    [Fact]
    public async Task LinksAtTheirClickLimitAreFoundAndMarkedOnceAmongMoreClickedLinksThanOneListHolds()
    {
        // A fold names up to MaxFold clicked links; the lookup goes in parts of SqlDialect.ListPart.
        var links = Enumerable.Range(0, (2 * SqlDialect.ListPart) + 500).Select(i => NewLink($"limit-{i}") with { MaxClicks = 1 }).ToList();
        await Database.WriteAsync(async (c, t) =>
        {
            foreach (var link in links)
            {
                Assert.True(await Links.TryInsertAsync(c, t, link, Ct));
            }

            return true;
        }, Ct);
        string[] atLimit = [links[0].Id, links[SqlDialect.ListPart + 7].Id, links[^1].Id];
        await Database.WriteAsync((c, t) => c.ExecuteAsync(new CommandDefinition(
            $"UPDATE links SET clicks = 1 WHERE {Database.Dialect.InList("id", "ids")}", new { ids = Database.Dialect.List(atLimit) }, t,
            cancellationToken: Ct)), Ct);
        var clicked = links.Select(l => l.Id).Reverse().ToHashSet(StringComparer.Ordinal);

        var marked = await Database.WriteAsync((c, t) => Links.MarkExpiredAsync(c, t, 1_000, clicked, clicked.Count, Ct), Ct);
        var again = await Database.WriteAsync((c, t) => Links.MarkExpiredAsync(c, t, 2_000, clicked, clicked.Count, Ct), Ct);

        Assert.Equal(atLimit.Order(StringComparer.Ordinal), marked.Select(l => l.Id));
        Assert.Empty(again);
    }

    [Fact]
    public async Task ListIsNewestFirstAndPagesBeforeACursor()
    {
        var links = new List<Link>();
        for (var i = 0; i < 5; i++)
        {
            links.Add(NewLink($"page-{i}"));
            Assert.True(await InsertAsync(links[^1]));
        }

        var first = await Links.ListAsync(AccessStore.DefaultWorkspaceId, NoFilter, null, 2, Ct);
        var second = await Links.ListAsync(AccessStore.DefaultWorkspaceId, NoFilter, first[^1].Id, 2, Ct);
        var last = await Links.ListAsync(AccessStore.DefaultWorkspaceId, NoFilter, second[^1].Id, 2, Ct);

        Assert.Equal(["page-4", "page-3"], first.Select(l => l.Slug));
        Assert.Equal(["page-2", "page-1"], second.Select(l => l.Slug));
        Assert.Equal(["page-0"], last.Select(l => l.Slug));
    }

    [Fact]
    public async Task ListFiltersByTag()
    {
        Assert.True(await InsertAsync(NewLink("both") with { Tags = ["red", "blue"] }));
        Assert.True(await InsertAsync(NewLink("blue-only") with { Tags = ["blue"] }));
        Assert.True(await InsertAsync(NewLink("untagged")));
        Assert.True(await InsertAsync(NewLink("elsewhere", OtherWorkspaceId) with { Tags = ["red"] }));

        Assert.Equal(["both"], await SlugsAsync(NoFilter with { Tag = "red" }));
        Assert.Equal(["blue-only", "both"], await SlugsAsync(NoFilter with { Tag = "blue" }));
        Assert.Empty(await SlugsAsync(NoFilter with { Tag = "Blue" }));
    }

    [Fact]
    public async Task ListSearchMatchesSlugUrlOrTitleIgnoringCase()
    {
        Assert.True(await InsertAsync(NewLink("summer-slug")));
        Assert.True(await InsertAsync(NewLink("by-url") with { Url = "https://example.com/SUMMER", BaseUrl = "https://example.com/SUMMER" }));
        Assert.True(await InsertAsync(NewLink("by-title") with { Title = "Big Summer Sale" }));
        Assert.True(await InsertAsync(NewLink("winter") with { Title = "Winter" }));

        Assert.Equal(["by-title", "by-url", "summer-slug"], await SlugsAsync(NoFilter with { Query = "sUmMeR" }));
    }

    [Fact]
    public async Task ListSearchTakesWildcardCharactersLiterally()
    {
        Assert.True(await InsertAsync(NewLink("percent") with { Title = "100% off" }));
        Assert.True(await InsertAsync(NewLink("no-percent") with { Title = "1000 off" }));
        Assert.True(await InsertAsync(NewLink("a_b")));
        Assert.True(await InsertAsync(NewLink("axb")));
        Assert.True(await InsertAsync(NewLink("backslash") with { Title = @"C:\temp" }));
        Assert.True(await InsertAsync(NewLink("no-backslash") with { Title = "C:temp" }));

        Assert.Equal(["percent"], await SlugsAsync(NoFilter with { Query = "0%" }));
        Assert.Equal(["a_b"], await SlugsAsync(NoFilter with { Query = "a_b" }));
        Assert.Equal(["backslash"], await SlugsAsync(NoFilter with { Query = @":\t" }));
    }

    [Fact]
    public async Task ListFiltersByArchived()
    {
        Assert.True(await InsertAsync(NewLink("live")));
        Assert.True(await InsertAsync(NewLink("shelved") with { Archived = true }));

        Assert.Equal(["shelved"], await SlugsAsync(NoFilter with { Archived = true }));
        Assert.Equal(["live"], await SlugsAsync(NoFilter with { Archived = false }));
        Assert.Equal(["shelved", "live"], await SlugsAsync(NoFilter));
    }

    [Fact]
    public async Task ListFiltersByExternalId()
    {
        Assert.True(await InsertAsync(NewLink("wanted") with { ExternalId = "x-1" }));
        Assert.True(await InsertAsync(NewLink("other") with { ExternalId = "x-2" }));
        Assert.True(await InsertAsync(NewLink("none")));

        Assert.Equal(["wanted"], await SlugsAsync(NoFilter with { ExternalId = "x-1" }));
        Assert.Empty(await SlugsAsync(NoFilter with { ExternalId = "X-1" }));
    }

    [Fact]
    public async Task AddClicksAddsToTheStoredTotals()
    {
        var busy = NewLink("busy") with { Clicks = 10 };
        var quiet = NewLink("quiet");
        Assert.True(await InsertAsync(busy));
        Assert.True(await InsertAsync(quiet));

        await Database.WriteAsync(async (c, t) =>
        {
            await LinkClickCounts.AddAsync(c, t, new Dictionary<string, long> { [busy.Id] = 5, [quiet.Id] = 1 }, Ct);
            return 0;
        }, Ct);

        Assert.Equal(15, (await Links.FindAsync(AccessStore.DefaultWorkspaceId, busy.Id, Ct))?.Clicks);
        Assert.Equal(1, (await Links.FindAsync(AccessStore.DefaultWorkspaceId, quiet.Id, Ct))?.Clicks);
    }

    [Fact]
    public async Task CreatedWorkspaceIsFoundAndListed()
    {
        var created = await Access.CreateWorkspaceAsync("Marketing", Ct);

        Assert.Equal(created, await Access.FindWorkspaceAsync(created.Id, Ct));
        Assert.Null(await Access.FindWorkspaceAsync("ws_missing", Ct));
        var listed = await Access.ListWorkspacesAsync(Ct);
        Assert.Contains(created, listed);
        Assert.Contains(listed, w => w.Id == AccessStore.DefaultWorkspaceId);
    }

    [Fact]
    public async Task RegisteringTheSameSecretTwiceKeepsOneKey()
    {
        var secret = ApiKeySecret.Generate();

        var (first, firstCreated) = await Access.RegisterKeyAsync(secret, AccessStore.DefaultWorkspaceId, "ci", [Scopes.LinksRead], Ct);
        var (_, secondCreated) = await Access.RegisterKeyAsync(secret, AccessStore.DefaultWorkspaceId, "ci again", [Scopes.Admin], Ct);

        Assert.True(firstCreated);
        Assert.False(secondCreated);
        Assert.Equal([first.Id], (await Access.ListKeysAsync(AccessStore.DefaultWorkspaceId, Ct)).Select(k => k.Id));
        Assert.Equal([Scopes.LinksRead], (await Access.FindActiveKeyAsync(secret, Ct))?.Scopes);
    }

    [Fact]
    public async Task ActiveKeyIsFoundBySecret()
    {
        var secret = ApiKeySecret.Generate();
        var (key, _) = await Access.RegisterKeyAsync(secret, OtherWorkspaceId, "reporting", [Scopes.LinksRead, Scopes.AnalyticsRead], Ct);

        var found = await Access.FindActiveKeyAsync(secret, Ct);

        Assert.NotNull(found);
        Assert.Equal((key.Id, OtherWorkspaceId, "reporting", key.Prefix, key.CreatedAt), (found.Id, found.WorkspaceId, found.Name, found.Prefix, found.CreatedAt));
        Assert.Equal([Scopes.LinksRead, Scopes.AnalyticsRead], found.Scopes);
        Assert.Null(await Access.FindActiveKeyAsync(ApiKeySecret.Generate(), Ct));
    }

    [Fact]
    public async Task RevokedKeyIsNoLongerActive()
    {
        var secret = ApiKeySecret.Generate();
        var (key, _) = await Access.RegisterKeyAsync(secret, AccessStore.DefaultWorkspaceId, "leaked", [Scopes.Admin], Ct);

        Assert.True(await Access.RevokeKeyAsync(key.Id, Ct));

        Assert.Null(await Access.FindActiveKeyAsync(secret, Ct));
        Assert.DoesNotContain(await Access.ListKeysAsync(AccessStore.DefaultWorkspaceId, Ct), k => k.Id == key.Id);
        Assert.False(await Access.RevokeKeyAsync(key.Id, Ct));
    }

    private static LinkFilter NoFilter => new(null, null, null, null);

    /// <summary>A minimal link; each one is created a millisecond after the previous, so ids sort in creation order.</summary>
    private Link NewLink(string slug, string workspaceId = AccessStore.DefaultWorkspaceId)
    {
        var createdAt = _nextCreatedAt++;
        return new Link
        {
            Id = Ids.New("lnk", createdAt),
            WorkspaceId = workspaceId,
            Domain = Domain,
            Slug = slug,
            BaseUrl = "https://example.com/" + slug,
            Url = "https://example.com/" + slug,
            CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(createdAt),
            UpdatedAt = DateTimeOffset.FromUnixTimeMilliseconds(createdAt),
        };
    }

    private Task<bool> InsertAsync(Link link) =>
        Database.WriteAsync((c, t) => Links.TryInsertAsync(c, t, link, Ct), Ct);

    private async Task<IEnumerable<string>> SlugsAsync(LinkFilter filter) =>
        (await Links.ListAsync(AccessStore.DefaultWorkspaceId, filter, null, 50, Ct)).Select(l => l.Slug);

    private async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read)
    {
        await using var connection = await Database.OpenAsync(Ct);
        return await read(connection);
    }

    [Fact]
    public async Task AMultiRowInsertKeepsEveryValueAndTypeAndSkipsConflictsInOrder()
    {
        await ExecuteAsync(Database, """
            CREATE TABLE multi_rows (id TEXT PRIMARY KEY, label TEXT, amount BIGINT, small INTEGER, flag BOOLEAN NOT NULL, never BIGINT)
            """);
        (string Id, string? Label, long? Amount, int Small, bool Flag)[] rows =
        [
            ("r3", "three", 3_000_000_000_000, 3, true),
            ("r1", null, null, 1, false),
            ("r2", "two, with 'quotes'", -2, 2, true),
            ("r1", "again", 11, 11, true),
        ];

        var inserted = await Database.WriteAsync((connection, transaction) => MultiRowStatement.QueryStringsAsync(connection, transaction,
            """
            INSERT INTO multi_rows (id, label, amount, small, flag, never)
            VALUES 
            """, " ON CONFLICT DO NOTHING RETURNING id", 6, 2, rows,
            static (row, values) =>
            {
                values[0] = row.Id;
                values[1] = row.Label;
                values[2] = row.Amount;
                values[3] = row.Small;
                values[4] = row.Flag;
                values[5] = null;
            }, Ct), Ct);

        Assert.Equal(["r3", "r1", "r2"], inserted);
        await using var connection = await Database.OpenAsync(Ct);
        var stored = (await connection.QueryAsync<(string Id, string? Label, long? Amount, long Small, bool Flag, long? Never)>(
            new CommandDefinition("SELECT id, label, amount, small, flag, never FROM multi_rows ORDER BY id", cancellationToken: Ct))).ToList();
        Assert.Equal(
            [("r1", null, null, 1, false, null), ("r2", "two, with 'quotes'", -2, 2, true, null), ("r3", "three", 3_000_000_000_000, 3, true, null)],
            stored);
    }

    [Fact]
    public async Task InsertingManyRowsKeepsEveryValueAndTypeAndAConflictFailsTheWholeCall()
    {
        await ExecuteAsync(Database, """
            CREATE TABLE many_rows (id TEXT PRIMARY KEY, label TEXT, amount BIGINT, small INTEGER, flag BOOLEAN NOT NULL)
            """);
        var columns = new ColumnMap<(string Id, string? Label, long? Amount, int Small, bool Flag)>(
            ("id", r => r.Id), ("label", r => r.Label), ("amount", r => r.Amount), ("small", r => r.Small), ("flag", r => r.Flag));
        (string Id, string? Label, long? Amount, int Small, bool Flag)[] rows =
        [
            ("r1", "Zürich → 東京 🚀, with 'quotes'", 3_000_000_000_000, -3, true),
            ("r2", null, null, 0, false),
            ("r3", "", long.MinValue, int.MaxValue, true),
        ];

        await Database.WriteAsync(async (connection, transaction) =>
        {
            await Database.InsertManyAsync(connection, transaction, "many_rows", columns, rows, Ct);
            return true;
        }, Ct);
        var conflict = await Assert.ThrowsAnyAsync<DbException>(() => Database.WriteAsync(async (connection, transaction) =>
        {
            await Database.InsertManyAsync(connection, transaction, "many_rows", columns, [("r4", "new", 4, 4, true), rows[0]], Ct);
            return true;
        }, Ct));

        Assert.True(Database.Dialect.IsUniqueViolation(conflict), conflict.Message);
        await using var connection = await Database.OpenAsync(Ct);
        var stored = (await connection.QueryAsync<(string Id, string? Label, long? Amount, int Small, bool Flag)>(
            new CommandDefinition("SELECT id, label, amount, small, flag FROM many_rows ORDER BY id", cancellationToken: Ct))).ToList();
        Assert.Equal(rows, stored);
    }

    [Fact]
    public async Task EachKindOfWriteIsCountedWithItsWaitAndHoldWhereWritesTakeTurnsAndTheLastAndSlowApiWritesAreKnown()
    {
        Database.TakeForegroundWrites();
        var before = Database.WriterUses().ToDictionary(u => u.Priority);
        var release = new TaskCompletionSource();
        var held = Database.WriteAsync(async (_, _) =>
        {
            await release.Task;
            return true;
        }, Ct);
        var waiting = Database.WriteAsync((_, _) => Task.FromResult(true), Ct, WritePriority.Background);
        await Task.Delay(50, Ct);
        release.SetResult();
        await Task.WhenAll(held, waiting);
        Assert.Equal((1L, 1L), Database.TakeForegroundWrites()); // the held one, slow; background writes are not counted
        Assert.Equal((0L, 0L), Database.TakeForegroundWrites());

        var uses = Database.WriterUses().ToDictionary(u => u.Priority, u => u with
        {
            Turns = u.Turns - before[u.Priority].Turns,
            WaitedSeconds = u.WaitedSeconds - before[u.Priority].WaitedSeconds,
            HeldSeconds = u.HeldSeconds - before[u.Priority].HeldSeconds,
        });
        if (Database.Provider == StorageProvider.Postgres)
        {
            Assert.Empty(uses); // writers run side by side: there are no turns to count
            Assert.True(Database.ForegroundWroteWithin(TimeSpan.FromMinutes(1))); // but the machine's cores are shared
            Assert.False(Database.ForegroundWroteWithin(TimeSpan.Zero));
            return;
        }

        Assert.Equal(Database.Provider == StorageProvider.Sqlite, Database.ForegroundWroteWithin(TimeSpan.FromMinutes(1)));
        Assert.False(Database.ForegroundWroteWithin(TimeSpan.Zero));
        Assert.Equal(1, uses[WritePriority.Foreground].Turns);
        Assert.True(uses[WritePriority.Foreground].HeldSeconds >= 0.04, $"held {uses[WritePriority.Foreground].HeldSeconds} s");
        Assert.Equal(1, uses[WritePriority.Background].Turns);
        Assert.True(uses[WritePriority.Background].WaitedSeconds >= 0.04, $"waited {uses[WritePriority.Background].WaitedSeconds} s");
        Assert.Equal(0, uses[WritePriority.Clicks].Turns);
    }

    [Fact]
    public async Task ARedoableWriteCommitsWithoutWaitingForTheFlushOnPostgresOnly()
    {
        // Twice: the second reuses the pooled session after the pool's reset, which must keep the setting.
        for (var use = 0; use < 2; use++)
        {
            var key = "redoable-" + Guid.NewGuid().ToString("N");
            var setting = await Database.WriteRedoableAsync(async (connection, transaction) =>
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO workspaces (id, name, created_at) VALUES (@key, @key, 1)", new { key }, transaction, cancellationToken: Ct));
                return Database.Provider == StorageProvider.Postgres
                    ? await connection.ExecuteScalarAsync<string>(new CommandDefinition(SynchronousCommit, transaction: transaction, cancellationToken: Ct))
                    : null;
            }, Ct);

            Assert.Equal(1, await ScalarAsync<long>(Database, "SELECT COUNT(*) FROM workspaces WHERE id = @key", new { key }));
            // Set for the session (the test cluster happens to have it off for all sessions by its configuration).
            Assert.Equal(Database.Provider == StorageProvider.Postgres ? "off session" : null, setting);
        }

        if (Database.Provider == StorageProvider.Postgres)
        {
            var waited = await Database.WriteAsync((connection, transaction) => connection.ExecuteScalarAsync<string>(
                new CommandDefinition(SynchronousCommit, transaction: transaction, cancellationToken: Ct)), Ct);
            Assert.DoesNotContain("session", waited, StringComparison.Ordinal);
        }
    }

    private const string SynchronousCommit = "SELECT setting || ' ' || source FROM pg_settings WHERE name = 'synchronous_commit'";

    private static async Task<T> ScalarAsync<T>(Database database, string sql, object? parameters = null)
    {
        await using var connection = await database.OpenAsync(Ct);
        return (await connection.ExecuteScalarAsync<T>(new CommandDefinition(sql, parameters, cancellationToken: Ct)))!;
    }

    private static async Task ExecuteAsync(Database database, string sql, object? parameters = null)
    {
        await using var connection = await database.OpenAsync(Ct);
        await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: Ct));
    }
}
