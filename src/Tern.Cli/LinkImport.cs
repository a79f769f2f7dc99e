using System.CommandLine;
using System.Globalization;
using nietras.SeparatedValues;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary>One row of an import: the link it asks for, or why it cannot be one.</summary>
/// <param name="SourceCreatedAt">When the link was created in the system it comes from; sent as the link's createdAt and kept in the results file.</param>
public sealed record ImportRow(int Line, CreateLinkRequest? Link, string? Error = null, DateTimeOffset? SourceCreatedAt = null);

/// <summary><c>tern links import FILE.csv</c>: Tern's own CSV (the columns of <c>tern links export</c>).</summary>
public static class LinkImport
{
    public const char TagSeparator = '|';

    public static readonly string[] Columns =
    [
        "url", "slug", "domain", "title", "tags", "externalId", "expiresAt", "expiredUrl", "maxClicks", "redirectType",
        "forwardQuery", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "startsAt", "prelaunchUrl",
        "preview_title", "preview_description", "preview_image", "createdAt",
    ];

    /// <summary>Written by an export, skipped by an import, so an exported file imports as it is.</summary>
    private static readonly string[] ReadOnlyColumns = ["id", "shortUrl", "clicks", "archived", "updatedAt"];

    public static Command Build(Cli cli)
    {
        var file = new Argument<FileInfo>("FILE.csv") { Description = "CSV with a header row: url, slug, title, tags (a|b), externalId, …" };
        var command = new Command("import", "Create links from a CSV file through the bulk API; a re-run creates nothing new, Ctrl-C resumes") { file };
        var options = BulkImport.AddOptions(command);
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var source = parse.GetValue(file)!;
            var rows = Read(source.FullName);
            return await new BulkImport(cli, client, options.From(parse, source), parse.GetValue(cli.Json)).RunAsync(rows, cancellationToken);
        });
    }

    public static IReadOnlyList<ImportRow> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new UsageException($"No file at {path}.");
        }

        using var reader = Sep.New(',').Reader(o => o with { Unescape = true, Trim = SepTrim.Outer }).FromFile(path);
        var names = reader.Header.ColNames;
        var known = new HashSet<string>([.. Columns, .. ReadOnlyColumns], StringComparer.OrdinalIgnoreCase);
        if (names.FirstOrDefault(n => !known.Contains(n)) is { } unknown)
        {
            throw new UsageException($"Unknown column '{unknown}' in {path}. Known columns: {string.Join(", ", Columns)}.");
        }

        if (!names.Contains("url", StringComparer.OrdinalIgnoreCase))
        {
            throw new UsageException($"{path} has no url column; the first row must name the columns (url, slug, tags, …).");
        }

        var rows = new List<ImportRow>();
        var cells = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in reader)
        {
            cells.Clear();
            for (var i = 0; i < names.Count; i++)
            {
                cells[names[i]] = row[i].ToString();
            }

            rows.Add(ToRow(row.LineNumberFrom, cells));
        }

        return rows;
    }

    private static ImportRow ToRow(int line, Dictionary<string, string> cells)
    {
        var errors = new List<string>();
        string? Text(string column) => cells.TryGetValue(column, out var value) && value.Length > 0 ? Unguard(value) : null;
        T? Parse<T>(string column, string expected, Func<string, T?> parse) where T : struct
        {
            if (Text(column) is not { } text)
            {
                return null;
            }

            var value = parse(text);
            if (value is null)
            {
                errors.Add($"{column} must be {expected}, not '{text}'");
            }

            return value;
        }

        DateTimeOffset? Instant(string column) => Parse<DateTimeOffset>(column, "an ISO-8601 instant", t =>
            DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null);

        var utm = new UtmParameters
        {
            Source = Text("utm_source"),
            Medium = Text("utm_medium"),
            Campaign = Text("utm_campaign"),
            Term = Text("utm_term"),
            Content = Text("utm_content"),
        };
        var link = new CreateLinkRequest
        {
            Url = Text("url"),
            Slug = Text("slug"),
            Domain = Text("domain"),
            Title = Text("title"),
            Tags = Text("tags")?.Split(TagSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            ExternalId = Text("externalId"),
            ExpiresAt = Instant("expiresAt"),
            ExpiredUrl = Text("expiredUrl"),
            MaxClicks = Parse("maxClicks", "a whole number", t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (long?)null),
            RedirectType = Parse("redirectType", "301, 302, 307 or 308", t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null),
            ForwardQuery = Parse("forwardQuery", "true or false", t => bool.TryParse(t, out var b) ? b : (bool?)null),
            Utm = utm == new UtmParameters() ? null : utm,
            StartsAt = Instant("startsAt"),
            PrelaunchUrl = Text("prelaunchUrl"),
            Preview = Text("preview_title") is null && Text("preview_description") is null && Text("preview_image") is null ? null : new LinkPreview
            {
                Title = Text("preview_title"),
                Description = Text("preview_description"),
                Image = Text("preview_image"),
            },
            CreatedAt = Instant("createdAt"),
        };
        return errors.Count > 0 ? new ImportRow(line, null, string.Join("; ", errors)) : new ImportRow(line, link, SourceCreatedAt: link.CreatedAt);
    }

    /// <summary>Undoes the spreadsheet formula guard (a leading <c>'</c>) Tern's export puts on cells starting with = + - @.</summary>
    private static string Unguard(string value) =>
        value.Length > 1 && value[0] == '\'' && value[1] is '=' or '+' or '-' or '@' ? value[1..] : value;
}
