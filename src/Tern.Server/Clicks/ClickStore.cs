using System.Data.Common;
using System.Globalization;
using System.Text;
using Dapper;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>One rollup cell: clicks of a scope (a link or a workspace) in one hour or day, by one dimension's key.</summary>
public readonly record struct RollupKey(string ScopeId, char Granularity, long Bucket, string Dimension, string Key);

/// <summary>
/// How far the SQLite click journal is folded: the rowid of the last click in the rollups, of the last click folded
/// into counts and events (never below the first), and of the last click stored.
/// </summary>
public sealed record ClickFoldMarks(long RolledUpThrough, long FoldedThrough, long LastRowId);

/// <summary>A filter of the click listing and export.</summary>
public sealed record ClickFilter(string WorkspaceId, string? LinkId, long? FromMs, long? ToMs, bool IncludeBots = true);

/// <summary>
/// Raw clicks and their rollups in storage. A batch is written in the caller's transaction: on PostgreSQL the
/// clicks go in with a binary COPY, on SQLite through one prepared statement; rollups are upserted as sums.
/// </summary>
public sealed class ClickStore(Database database)
{
    public const long HourMs = 3_600_000;
    public const long DayMs = 86_400_000;

    public static readonly string[] Dimensions = ["country", "device", "browser", "os", "referrer"];

    /// <summary>The columns of <c>clicks</c>, in the order every insert, COPY and select of them uses.</summary>
    private static readonly ColumnMap<Click> ClickColumns = new(
        ("id", c => c.Id),
        ("workspace_id", c => c.WorkspaceId),
        ("link_id", c => c.LinkId),
        ("slug", c => c.Slug),
        ("domain", c => c.Domain),
        ("ts", c => c.TimestampMs),
        ("device", c => c.Device),
        ("browser", c => c.Browser),
        ("os", c => c.Os),
        ("country", c => c.Country),
        ("referrer", c => c.Referrer),
        ("referrer_host", c => c.ReferrerHost),
        ("language", c => c.Language),
        ("is_bot", c => c.IsBot),
        ("visitor", c => c.Visitor),
        ("destination", c => c.Destination),
        ("rule_index", c => c.RuleIndex),
        ("variant", c => c.Variant),
        ("source", c => c.Source));

    /// <summary>The same, after the rowid each click takes in the SQLite journal.</summary>
    private static readonly ColumnMap<(long RowId, Click Row)> JournalColumns = ClickColumns.WithRowId();

    /// <summary>Writes the raw clicks in the caller's transaction (a binary COPY on PostgreSQL, a prepared statement on SQLite).</summary>
    public Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks, CancellationToken cancellationToken) =>
        database.InsertManyAsync(connection, transaction, "clicks", ClickColumns, clicks, cancellationToken);

    /// <summary>
    /// Records each (scope, day, visitor) once and adds a 'uniques' cell for the first sighting of a visitor in a
    /// day (hourly and daily), so that summing 'uniques' gives daily unique visitors.
    /// </summary>
    public static async Task AddFirstSightingsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks,
        Dictionary<RollupKey, long> rollups, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO daily_visitors (scope_id, day, visitor) VALUES (@scope, @day, @visitor) ON CONFLICT DO NOTHING";
        var (scope, day, visitor) = (command.CreateParameter(), command.CreateParameter(), command.CreateParameter());
        (scope.ParameterName, day.ParameterName, visitor.ParameterName) = ("@scope", "@day", "@visitor");
        command.Parameters.Add(scope);
        command.Parameters.Add(day);
        command.Parameters.Add(visitor);
        foreach (var click in clicks)
        {
            if (click.Visitor is null)
            {
                continue;
            }

            var dayStart = click.TimestampMs / DayMs * DayMs;
            foreach (var scopeId in new[] { click.LinkId, click.WorkspaceId })
            {
                (scope.Value, day.Value, visitor.Value) = (scopeId, dayStart, click.Visitor);
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    Add(new RollupKey(scopeId, 'h', FloorHour(click.TimestampMs), "uniques", ""));
                    Add(new RollupKey(scopeId, 'd', dayStart, "uniques", ""));
                }
            }
        }

        void Add(RollupKey key) => rollups[key] = rollups.GetValueOrDefault(key) + 1;
    }

    /// <summary>
    /// Appends a batch to the click journal (SQLite): <c>click_journal</c>, a table with no index but its rowid, so that
    /// an append costs the writer one row per click whatever the number of links (the indexes of <c>clicks</c> made
    /// each append touch a page per link clicked, and held the writer, and so the redirects, at about 22,000 clicks/s
    /// on this project's 2-core machine). Each click takes the rowid the writer gives it: rowids then only grow, even
    /// once the journal is emptied, so the fold marks (<see cref="ClickFoldMarks"/>) always tell the folded clicks from
    /// the others. The fold copies each chunk into <c>clicks</c> (<see cref="InsertAsync"/>) as it folds it, and the
    /// rows leave the journal once their rollup sums are written (<see cref="SetRolledUpThroughAsync"/>).
    /// </summary>
    public Task AppendToJournalAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Click> clicks, long firstRowId,
        CancellationToken cancellationToken)
    {
        var rows = new (long RowId, Click Row)[clicks.Count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = (firstRowId + i, clicks[i]);
        }

        return database.InsertManyAsync(connection, transaction, "click_journal", JournalColumns, rows, cancellationToken);
    }

    /// <summary>PostgreSQL: the caller's transaction id, which its click rows record in <c>tx</c>.</summary>
    public static async Task<ulong> CurrentTransactionAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        ulong.Parse(await connection.ExecuteScalarAsync<string>(new CommandDefinition(
            "SELECT pg_current_xact_id()::text", transaction: transaction, cancellationToken: cancellationToken)) ?? "0",
            CultureInfo.InvariantCulture);

    /// <summary>The fold marks and the largest rowid of the journal (SQLite).</summary>
    public async Task<ClickFoldMarks> FoldMarksAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleAsync<ClickFoldMarks>(new CommandDefinition(
            """
            SELECT rolled_up_through AS RolledUpThrough, folded_through AS FoldedThrough,
                   (SELECT COALESCE(MAX(rowid), 0) FROM click_journal) AS LastRowId
            FROM click_rollup_state
            """, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Up to <paramref name="limit"/> journaled clicks after rowid <paramref name="after"/> and at most
    /// <paramref name="through"/>, oldest first, each with its rowid (SQLite).
    /// </summary>
    public static async Task<IReadOnlyList<(long RowId, Click Click)>> ReadJournalAsync(
        DbConnection connection, DbTransaction? transaction, long after, long through, int limit, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<ClickRow>(new CommandDefinition(
            $"SELECT rowid AS row_id, {ClickColumns.List} FROM click_journal WHERE rowid > @after AND rowid <= @through ORDER BY rowid LIMIT @limit",
            new { after, through, limit }, transaction, cancellationToken: cancellationToken));
        return [.. rows.Select(r => (r.RowId, r.ToClick()))];
    }

    /// <summary>Records that every click up to this rowid is folded (SQLite).</summary>
    public static Task SetFoldedThroughAsync(DbConnection connection, DbTransaction transaction, long rowId, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE click_rollup_state SET folded_through = @rowId", new { rowId }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// Records that the rollups hold the sums of every click up to this rowid (SQLite), and drops those clicks from the
    /// journal: they are folded and in <c>clicks</c>, and nothing needs to read them again.
    /// </summary>
    public static Task SetRolledUpThroughAsync(DbConnection connection, DbTransaction transaction, long rowId, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "UPDATE click_rollup_state SET rolled_up_through = @rowId; DELETE FROM click_journal WHERE rowid <= @rowId",
            new { rowId }, transaction, cancellationToken: cancellationToken));

    /// <summary>Forgets who was seen on days before the cutoff; their counts stay in the rollups.</summary>
    public Task<int> PurgeSightingsBeforeAsync(long cutoffMs, CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM daily_visitors WHERE day < @cutoffMs", new { cutoffMs }, transaction, cancellationToken: cancellationToken)),
            cancellationToken, WritePriority.Background);

    /// <summary>
    /// Adds the batch's sums to the rollups, creating cells as needed. Where several nodes write (PostgreSQL) the cells
    /// go in key order, so that nodes adding to the same cells at once lock them in the same order and never deadlock.
    /// </summary>
    public Task AddToRollupsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyDictionary<RollupKey, long> sums, CancellationToken cancellationToken) =>
        MultiRowStatement.ExecuteAsync<KeyValuePair<RollupKey, long>>(connection, transaction,
            "INSERT INTO click_rollups (scope_id, granularity, bucket, dimension, key, clicks) VALUES ",
            " ON CONFLICT (scope_id, granularity, dimension, bucket, key) DO UPDATE SET clicks = click_rollups.clicks + excluded.clicks",
            6, 1,
            database.SingleWriter
                ? (IReadOnlyCollection<KeyValuePair<RollupKey, long>>)sums
                : [.. sums.OrderBy(c => c.Key.ScopeId, StringComparer.Ordinal).ThenBy(c => c.Key.Granularity)
                    .ThenBy(c => c.Key.Dimension, StringComparer.Ordinal).ThenBy(c => c.Key.Bucket).ThenBy(c => c.Key.Key, StringComparer.Ordinal)],
            static (cell, values) =>
            {
                values[0] = cell.Key.ScopeId;
                values[1] = cell.Key.Granularity == 'h' ? "h" : "d";
                values[2] = cell.Key.Bucket;
                values[3] = cell.Key.Dimension;
                values[4] = cell.Key.Key;
                values[5] = cell.Value;
            }, cancellationToken);

    /// <summary>
    /// Sums of one dimension over [from, to) for the given scopes: whole UTC days from the daily cells, the
    /// partial days at either end from the hourly ones. Hours are the finest grain; from and to are taken to hours.
    /// With <paramref name="wholeDays"/> (a link's breakdowns, which are kept by day only) the range is widened to
    /// the whole UTC days it touches.
    /// </summary>
    public Task<IReadOnlyList<(string Key, long Clicks)>> SumAsync(
        IReadOnlyList<string> scopes, string dimension, long fromMs, long toMs, CancellationToken cancellationToken, bool wholeDays = false)
    {
        var (from, to) = (FloorHour(fromMs), CeilHour(toMs));
        return SumCellsAsync(scopes, dimension, null, from, to, wholeDays ? WholeDays(from, to) : DaySpan(from, to), null, cancellationToken);
    }

    /// <summary>
    /// Clicks per hour over [from, to) of links that read their stats from their raw clicks: the hourly series their
    /// own cells would give.
    /// </summary>
    public async Task<IReadOnlyList<(long Bucket, long Clicks)>> RawSeriesAsync(
        IReadOnlyList<string> linkIds, long fromMs, long toMs, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Bucket, long Clicks)>(new CommandDefinition(
            $"""
            SELECT ts / 3600000 * 3600000 AS bucket, COUNT(*) FROM clicks
            WHERE {database.Dialect.InList("link_id", "links")} AND ts >= @from AND ts < @to
            GROUP BY ts / 3600000 * 3600000 ORDER BY bucket
            """,
            new { links = database.Dialect.List(linkIds), from = FloorHour(fromMs), to = CeilHour(toMs) }, cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>
    /// One breakdown (a dimension of <see cref="Dimensions"/>, or <c>destination</c>) of links that read their stats
    /// from their raw clicks, over the whole UTC days [from, to) touches, as their own daily cells would give it.
    /// </summary>
    public async Task<IReadOnlyList<(string Key, long Clicks)>> RawSumAsync(
        IReadOnlyList<string> linkIds, string dimension, long fromMs, long toMs, CancellationToken cancellationToken)
    {
        var column = LinkCells.Single(c => c.Granularity == 'd' && c.Dimension == dimension).Key;
        var days = WholeDays(FloorHour(fromMs), CeilHour(toMs));
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Key, long Clicks)>(new CommandDefinition(
            $"""
            SELECT {column}, COUNT(*) FROM (SELECT {CellColumns} FROM clicks AS c
                WHERE {database.Dialect.InList("c.link_id", "links")} AND c.ts >= @from AND c.ts < @to) AS c
            GROUP BY {column} ORDER BY COUNT(*) DESC, {column}
            """,
            new { links = database.Dialect.List(linkIds), from = days.From, to = days.To }, cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>
    /// The workspace's links with the most clicks over [from, to), most first, at most <paramref name="limit"/>; only
    /// those of <paramref name="linkIds"/> when given. Read from the workspace's per-link cells, which every click adds to.
    /// </summary>
    public Task<IReadOnlyList<(string Key, long Clicks)>> TopLinksAsync(
        string workspaceId, IReadOnlyList<string>? linkIds, long fromMs, long toMs, int limit, CancellationToken cancellationToken)
    {
        var (from, to) = (FloorHour(fromMs), CeilHour(toMs));
        return SumCellsAsync([workspaceId], "link", linkIds, from, to, DaySpan(from, to), limit, cancellationToken);
    }

    /// <summary>
    /// The sums by key of one dimension's cells of [from, to), most first; only the cells of <paramref name="keys"/>
    /// when given.
    /// </summary>
    private async Task<IReadOnlyList<(string Key, long Clicks)>> SumCellsAsync(
        IReadOnlyList<string> scopes, string dimension, IReadOnlyList<string>? keys, long from, long to, (long From, long To) days, int? limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Key, long Clicks)>(new CommandDefinition(
            $"""
            SELECT key, SUM(clicks) FROM ({Cells("key, clicks", "dimension = @dimension")}) AS cells
            {(keys is null ? "" : $"WHERE {database.Dialect.InList("key", "keys")}")}
            GROUP BY key
            ORDER BY SUM(clicks) DESC, key{(limit is null ? "" : " LIMIT @limit")}
            """,
            new
            {
                scopes = database.Dialect.List(scopes),
                dimension,
                keys = keys is null ? null : database.Dialect.List(keys),
                from,
                to,
                dayFrom = days.From,
                dayTo = days.To,
                limit,
            },
            cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>
    /// The cells of [from, to) for the scopes: the daily ones of the whole days (@dayFrom to @dayTo) and the hourly
    /// ones of the partial days at either end. Three plain ranges joined with UNION ALL, so that each one is a range
    /// scan of the primary key (scope, granularity, dimension, bucket) rather than one scan of every cell of the
    /// scope filtered by an OR.
    /// </summary>
    private string Cells(string columns, string dimension)
    {
        var scopes = database.Dialect.InList("scope_id", "scopes");
        return $"""
            SELECT {columns} FROM click_rollups WHERE {scopes} AND granularity = 'd' AND {dimension} AND bucket >= @dayFrom AND bucket < @dayTo
            UNION ALL
            SELECT {columns} FROM click_rollups WHERE {scopes} AND granularity = 'h' AND {dimension} AND bucket >= @from AND bucket < @dayFrom
            UNION ALL
            SELECT {columns} FROM click_rollups WHERE {scopes} AND granularity = 'h' AND {dimension} AND bucket >= @dayTo AND bucket < @to
            """;
    }

    /// <summary>The whole UTC days [from, to) touches: what a link's breakdowns, kept by day, are read over.</summary>
    private static (long From, long To) WholeDays(long from, long to) => (from / DayMs * DayMs, CeilDay(to));

    /// <summary>The whole UTC days inside [from, to); empty (to, to) when there is none.</summary>
    public static (long DayFrom, long DayTo) DaySpan(long from, long to)
    {
        var (dayFrom, dayTo) = (CeilDay(from), to / DayMs * DayMs);
        return dayTo < dayFrom ? (to, to) : (dayFrom, dayTo);
    }

    /// <summary>Total clicks per bucket start, at hourly or daily grain, over [from, to).</summary>
    public async Task<IReadOnlyList<(long Bucket, long Clicks)>> SeriesAsync(
        IReadOnlyList<string> scopes, char granularity, long fromMs, long toMs, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Bucket, long Clicks)>(new CommandDefinition(
            $"""
            SELECT bucket, SUM(clicks) FROM click_rollups
            WHERE {database.Dialect.InList("scope_id", "scopes")} AND granularity = @granularity AND dimension = 'total' AND bucket >= @fromMs AND bucket < @toMs
            GROUP BY bucket ORDER BY bucket
            """,
            new { scopes = database.Dialect.List(scopes), granularity = granularity.ToString(), fromMs, toMs }, cancellationToken: cancellationToken));
        return [.. rows];
    }

    /// <summary>Clicks newest first; <paramref name="before"/> is the last id of the previous page.</summary>
    public async Task<IReadOnlyList<Click>> ListAsync(ClickFilter filter, string? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<ClickRow>(Query(filter, before, limit, cancellationToken));
        return [.. rows.Select(r => r.ToClick())];
    }

    /// <summary>
    /// Clicks committed strictly after the click <paramref name="after"/>, oldest first, in the order they committed,
    /// so that a reader that always asks from the last one it got never misses or repeats one.
    /// </summary>
    public async Task<IReadOnlyList<Click>> ListAfterAsync(ClickFilter filter, string after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var sql = $"{Where(filter)} {database.Dialect.CommittedAfter("clicks")} LIMIT @limit";
        var rows = await connection.QueryAsync<ClickRow>(new CommandDefinition(sql,
            new { workspaceId = filter.WorkspaceId, filter.LinkId, filter.FromMs, filter.ToMs, after, limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToClick())];
    }

    /// <summary>Every click of the filter, newest first, read as it is written out (for CSV export).</summary>
    public async IAsyncEnumerable<Click> StreamAsync(ClickFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var reader = await connection.ExecuteReaderAsync(Query(filter, null, null, cancellationToken));
        var parser = reader.GetRowParser<ClickRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return parser(reader).ToClick();
        }
    }

    /// <summary>
    /// Deletes raw clicks older than the cutoff, a slice at a time so writers are never held up long. On PostgreSQL
    /// the monthly partitions wholly before the cutoff are dropped first, so only the straddling month is deleted row-wise.
    /// </summary>
    public async Task<int> PurgeOlderThanAsync(long cutoffMs, CancellationToken cancellationToken)
    {
        await KeepOwnRollupsOfClicksBeforeAsync(Ids.LowerBound("clk", cutoffMs), cancellationToken);
        var total = await database.DropClickMonthsOlderThanAsync(cutoffMs, cancellationToken);
        while (true)
        {
            // Click ids start with their time, so the primary key finds the old ones without an index on ts.
            var deleted = await database.WriteAsync(async (connection, transaction) =>
            {
                var deleted = await connection.ExecuteAsync(new CommandDefinition(
                    $"DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE id < @bound{(MarksRollups ? "" : RolledUpOnlyByTransaction)} ORDER BY id LIMIT 10000)",
                    new { bound = Ids.LowerBound("clk", cutoffMs) }, transaction, cancellationToken: cancellationToken));
                return deleted;
            }, cancellationToken, WritePriority.Background);
            total += deleted;
            if (deleted < 10000)
            {
                return total;
            }
        }
    }

    /// <summary>
    /// Before retention deletes clicks with ids below <paramref name="bound"/>: every link they belong to that reads its
    /// stats from its raw clicks gets cells of its own, counted from them, so that its stats outlive them. A slice of
    /// clicks by id per transaction, as the purge deletes them.
    /// </summary>
    private async Task KeepOwnRollupsOfClicksBeforeAsync(string bound, CancellationToken cancellationToken)
    {
        var after = "";
        while (true)
        {
            var (last, taken) = await database.WriteAsync(async (connection, transaction) =>
            {
                // The mark the counted cells stop at; on PostgreSQL its row lock keeps the rollup fold out meanwhile.
                var mark = await RollupMarkAsync(connection, transaction, cancellationToken);
                var slice = (await connection.QueryAsync<(string Id, string LinkId)>(new CommandDefinition(
                    "SELECT id, link_id FROM clicks WHERE id < @bound AND id > @after ORDER BY id LIMIT 10000",
                    new { bound, after }, transaction, cancellationToken: cancellationToken))).ToList();
                if (slice.Count > 0)
                {
                    await KeepOwnRollupsAsync(connection, transaction, slice.Select(c => c.LinkId).Distinct(StringComparer.Ordinal), mark, cancellationToken);
                }

                return (slice.Count == 0 ? after : slice[^1].Id, slice.Count);
            }, cancellationToken, WritePriority.Background);
            after = last;
            if (taken < 10000)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The mark a link's own cells are counted up to when it starts keeping them: on SQLite the fold mark (every
    /// click in <c>clicks</c> is folded up to it), on PostgreSQL the rollup mark, its row locked so that no fold moves it
    /// meanwhile (the rollups hold the clicks of every transaction before it).
    /// </summary>
    private async Task<long> RollupMarkAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        MarksRollups
            ? await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT folded_through FROM click_rollup_state", transaction: transaction, cancellationToken: cancellationToken))
            : long.Parse(await connection.ExecuteScalarAsync<string>(new CommandDefinition(
                "SELECT rolled_up_tx::text FROM click_rollup_state WHERE id = 1 FOR UPDATE", transaction: transaction,
                cancellationToken: cancellationToken)) ?? "0", CultureInfo.InvariantCulture);

    /// <summary>
    /// The links among <paramref name="linkIds"/> that keep stats cells of their own, each with the fold mark its cells
    /// were counted through when it started to (SQLite; 0 on PostgreSQL): the fold adds only its clicks after that.
    /// </summary>
    public async Task<Dictionary<string, long>> OwnRollupsAsync(DbConnection connection, DbTransaction? transaction, IEnumerable<string> linkIds,
        CancellationToken cancellationToken)
    {
        var own = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in linkIds.Chunk(SqlDialect.ListPart))
        {
            var rows = await connection.QueryAsync<(string LinkId, long Through)>(new CommandDefinition(
                $"SELECT link_id, {(MarksRollups ? "counted_through" : "0::bigint")} FROM link_rollups WHERE {database.Dialect.InList("link_id", "links")}",
                new { links = database.Dialect.List(part) }, transaction, cancellationToken: cancellationToken));
            foreach (var (linkId, through) in rows)
            {
                own[linkId] = through;
            }
        }

        return own;
    }

    /// <summary>The links among <paramref name="linkIds"/> that keep stats cells of their own.</summary>
    public async Task<IReadOnlySet<string>> OwnRollupsAsync(IReadOnlyList<string> linkIds, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return (await OwnRollupsAsync(connection, null, linkIds, cancellationToken)).Keys.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Gives the links of <paramref name="linkIds"/> that have none yet stats cells of their own, counted from their raw
    /// clicks up to <paramref name="mark"/>: on SQLite every stored click (<c>clicks</c> holds each one folded up to the
    /// fold mark, and the fold adds those after it), on PostgreSQL the clicks of transactions before the rollup mark (the
    /// folds add those from it on). Returns how many links started keeping cells.
    /// </summary>
    public async Task<int> KeepOwnRollupsAsync(DbConnection connection, DbTransaction transaction, IEnumerable<string> linkIds, long mark,
        CancellationToken cancellationToken)
    {
        var candidates = linkIds.ToList();
        if (candidates.Count == 0)
        {
            return 0;
        }

        var kept = await OwnRollupsAsync(connection, transaction, candidates, cancellationToken);
        if (candidates.Count == kept.Count)
        {
            return 0;
        }

        var fresh = database.Dialect.List(candidates.Where(id => !kept.ContainsKey(id)));

        var markValue = MarksRollups ? (object)mark : mark.ToString(CultureInfo.InvariantCulture);
        await connection.ExecuteAsync(new CommandDefinition(
            CountLinkCellsSql($"{database.Dialect.InList("c.link_id", "links")}{(MarksRollups ? "" : " AND c.tx < @mark::text::xid8")}"),
            new { links = fresh, mark = markValue }, transaction, cancellationToken: cancellationToken));
        return await connection.ExecuteAsync(new CommandDefinition(
            MarksRollups
                ? "INSERT INTO link_rollups (link_id, counted_through) SELECT value, @mark FROM json_each(@links)"
                : "INSERT INTO link_rollups (link_id) SELECT unnest(@links::text[])",
            new { links = fresh, mark }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The cells a link keeps of its own (<see cref="ClickFolder.AddLinkCells"/>): its hourly and daily totals, its daily
    /// breakdowns and destinations; each (granularity, bucket, dimension, key) named by the columns of
    /// <see cref="CellColumns"/>.
    /// </summary>
    internal static readonly (char Granularity, string Bucket, string Dimension, string Key)[] LinkCells =
    [
        ('h', "hour", "total", "''"),
        ('d', "day", "total", "''"),
        ('d', "day", "country", "country"),
        ('d', "day", "device", "device"),
        ('d', "day", "browser", "browser"),
        ('d', "day", "os", "os"),
        ('d', "day", "referrer", "referrer"),
        ('d', "day", "destination", "destination"),
    ];

    /// <summary>The columns a click's cells are keyed by, from a row of <c>clicks</c> named <c>c</c>.</summary>
    internal const string CellColumns =
        """
        c.link_id, c.workspace_id, c.ts / 3600000 * 3600000 AS hour, c.ts / 86400000 * 86400000 AS day,
        COALESCE(c.country, '') AS country, c.device, c.browser, c.os, COALESCE(c.referrer_host, '') AS referrer,
        COALESCE(c.destination, '') AS destination
        """;

    /// <summary>
    /// Counts the own cells of the links whose clicks <paramref name="where"/> selects, and adds them to the rollups:
    /// one grouped select per kind of cell, in SQL both providers run.
    /// </summary>
    private static string CountLinkCellsSql(string where)
    {
        var branches = LinkCells.Select((cell, i) =>
        {
            var groupKey = cell.Key == "''" ? "" : $", {cell.Key}";
            return i == 0
                ? $"SELECT link_id AS scope_id, '{cell.Granularity}' AS granularity, {cell.Bucket} AS bucket, '{cell.Dimension}' AS dimension, {cell.Key} AS key, COUNT(*) AS clicks FROM c GROUP BY link_id, {cell.Bucket}{groupKey}"
                : $"SELECT link_id, '{cell.Granularity}', {cell.Bucket}, '{cell.Dimension}', {cell.Key}, COUNT(*) FROM c GROUP BY link_id, {cell.Bucket}{groupKey}";
        });
        return $"""
            WITH c AS (SELECT {CellColumns} FROM clicks AS c WHERE {where})
            INSERT INTO click_rollups (scope_id, granularity, bucket, dimension, key, clicks)
            SELECT * FROM ({string.Join("\nUNION ALL ", branches)}) AS cells WHERE TRUE
            ON CONFLICT (scope_id, granularity, dimension, bucket, key) DO UPDATE SET clicks = click_rollups.clicks + excluded.clicks
            """;
    }

    /// <summary>
    /// True where the raw clicks are a journal folded afterwards, with marks in storage of how far (SQLite, the single
    /// writer); elsewhere a batch is folded into counts and events in the transaction that stores it, so that any number of
    /// nodes can write, and the rollups follow by transaction ranges (<see cref="RangeRollups"/>).
    /// </summary>
    public bool MarksRollups => database.SingleWriter;

    /// <summary>
    /// On PostgreSQL, retention never deletes a click the rollups do not hold yet. (On SQLite a click reaches <c>clicks</c>
    /// folded, and the journal keeps it until its rollup sums are written.)
    /// </summary>
    private const string RolledUpOnlyByTransaction = " AND tx < (SELECT rolled_up_tx FROM click_rollup_state WHERE id = 1)";

    private static CommandDefinition Query(ClickFilter filter, string? before, int? limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder(Where(filter));
        sql.Append(before is null ? "" : " AND id < @before");
        sql.Append(" ORDER BY id DESC");
        sql.Append(limit is null ? "" : " LIMIT @limit");
        return new CommandDefinition(sql.ToString(),
            new { workspaceId = filter.WorkspaceId, filter.LinkId, filter.FromMs, filter.ToMs, before, limit },
            cancellationToken: cancellationToken, flags: limit is null ? CommandFlags.None : CommandFlags.Buffered);
    }

    /// <summary>The select of the filter's clicks, without order.</summary>
    private static string Where(ClickFilter filter)
    {
        var sql = new StringBuilder($"SELECT {ClickColumns.List} FROM clicks WHERE workspace_id = @workspaceId");
        sql.Append(filter.LinkId is null ? "" : " AND link_id = @LinkId");
        sql.Append(filter.FromMs is null ? "" : " AND ts >= @FromMs");
        sql.Append(filter.ToMs is null ? "" : " AND ts < @ToMs");
        sql.Append(filter.IncludeBots ? "" : " AND NOT is_bot");
        return sql.ToString();
    }

    public static long FloorHour(long ms) => ms / HourMs * HourMs;

    public static long CeilHour(long ms) => (ms + HourMs - 1) / HourMs * HourMs;

    public static long CeilDay(long ms) => (ms + DayMs - 1) / DayMs * DayMs;

    private sealed class ClickRow
    {
        public long RowId { get; set; }
        public string Id { get; set; } = "";
        public string WorkspaceId { get; set; } = "";
        public string LinkId { get; set; } = "";
        public string Slug { get; set; } = "";
        public string Domain { get; set; } = "";
        public long Ts { get; set; }
        public string Device { get; set; } = "";
        public string Browser { get; set; } = "";
        public string Os { get; set; } = "";
        public string? Country { get; set; }
        public string? Referrer { get; set; }
        public string? ReferrerHost { get; set; }
        public string? Language { get; set; }
        public bool IsBot { get; set; }
        public string? Visitor { get; set; }
        public string? Destination { get; set; }
        public int? RuleIndex { get; set; }
        public int? Variant { get; set; }
        public string? Source { get; set; }

        public Click ToClick() => new()
        {
            Id = Id,
            WorkspaceId = WorkspaceId,
            LinkId = LinkId,
            Slug = Slug,
            Domain = Domain,
            TimestampMs = Ts,
            Device = Device,
            Browser = Browser,
            Os = Os,
            Country = Country,
            Referrer = Referrer,
            ReferrerHost = ReferrerHost,
            Language = Language,
            IsBot = IsBot,
            Visitor = Visitor,
            Destination = Destination,
            RuleIndex = RuleIndex,
            Variant = Variant,
            Source = Source,
        };
    }
}
