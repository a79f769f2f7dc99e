using System.Text.RegularExpressions;

namespace Tern.Server.Tests.Architecture;

/// <summary>
/// The room map of docs/architecture.md, held against the source: providers stay in Storage, each table is written
/// only by the room that owns it, and the domain rooms depend on each other one way.
/// </summary>
public sealed partial class RoomRulesTests
{
    /// <summary>Which room owns each table: the only one whose code may write it.</summary>
    private static readonly Dictionary<string, string> Owners = new(StringComparer.Ordinal)
    {
        ["links"] = "Links",
        ["link_tags"] = "Links",
        ["clicks"] = "Clicks",
        ["click_journal"] = "Clicks",
        ["click_rollups"] = "Clicks",
        ["click_rollup_state"] = "Clicks",
        ["link_rollups"] = "Clicks",
        ["daily_visitors"] = "Clicks",
        ["visitor_salts"] = "Clicks",
        ["events"] = "Events",
        ["webhooks"] = "Webhooks",
        ["webhook_deliveries"] = "Webhooks",
        ["webhook_attempts"] = "Webhooks",
        ["workspaces"] = "Access",
        ["api_keys"] = "Access",
        ["idempotency_keys"] = "Hosting",
        ["schema_migrations"] = "Storage",
        ["cluster_jobs"] = "Storage",
    };

    /// <summary>The domain rooms each domain room may use (Access, Hosting and Storage are shared by all).</summary>
    private static readonly Dictionary<string, string[]> MayUse = new(StringComparer.Ordinal)
    {
        ["Events"] = [],
        ["Links"] = ["Events"],
        ["Clicks"] = ["Links", "Events"],
        ["Redirect"] = ["Links", "Clicks"],
        ["Webhooks"] = ["Events"],
        ["Dashboard"] = ["Links", "Clicks", "Events", "Webhooks"],
    };

    private static readonly string Server = Path.Combine(RepositoryRoot(), "src", "Tern.Server");

    [Fact]
    public void NoDatabaseProviderIsNamedOutsideStorage()
    {
        var leaks = SourceFiles()
            .Where(f => Room(f) != "Storage")
            .SelectMany(f => ProviderNames().Matches(File.ReadAllText(f)).Select(m => $"{Relative(f)}: {m.Value}"))
            .ToList();

        Assert.Empty(leaks);
    }

    [Fact]
    public void EachTableIsWrittenOnlyByTheRoomThatOwnsIt()
    {
        var written = SourceFiles()
            .SelectMany(f => SqlWrites().Matches(File.ReadAllText(f)).Select(m => (File: f, Table: m.Groups["table"].Value)))
            .ToList();
        var trespasses = written
            .Where(w => Owners.GetValueOrDefault(w.Table) != Room(w.File))
            .Select(w => $"{Relative(w.File)} writes {w.Table} (owned by {Owners.GetValueOrDefault(w.Table) ?? "no room"})")
            .ToList();

        Assert.Empty(trespasses);
        Assert.True(written.Count > 20, "the SQL writes were found");
    }

    [Fact]
    public void DomainRoomsDependOnEachOtherOneWay()
    {
        var wrong = SourceFiles()
            .Where(f => MayUse.ContainsKey(Room(f)))
            .SelectMany(f => RoomReferences().Matches(File.ReadAllText(f))
                .Select(m => m.Groups["room"].Value)
                .Where(used => used != Room(f) && MayUse.ContainsKey(used) && !MayUse[Room(f)].Contains(used))
                .Distinct()
                .Select(used => $"{Relative(f)} uses {used}"))
            .ToList();

        Assert.Empty(wrong);
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Server, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".razor", StringComparison.Ordinal))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The room a file belongs to: its first folder under src/Tern.Server (Program.cs belongs to Hosting).</summary>
    private static string Room(string file)
    {
        var parts = Path.GetRelativePath(Server, file).Split(Path.DirectorySeparatorChar);
        return parts.Length > 1 ? parts[0] : "Hosting";
    }

    private static string Relative(string file) => Path.GetRelativePath(Server, file);

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Tern.slnx")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with Tern.slnx) is not above the test's folder.");
    }

    [GeneratedRegex(@"\b(Npgsql\w*|Microsoft\.Data\.Sqlite|SQLitePCL|Sqlite(Connection|Database|Exception|Command)|PostgresDatabase|Tern\.Server\.Storage\.(Postgres|Sqlite))\b")]
    private static partial Regex ProviderNames();

    [GeneratedRegex(@"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?<table>[a-z_]+)\b")]
    private static partial Regex SqlWrites();

    [GeneratedRegex(@"\bTern\.Server\.(?<room>Links|Clicks|Redirect|Events|Webhooks|Dashboard)\b")]
    private static partial Regex RoomReferences();
}
