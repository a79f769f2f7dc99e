using System.Globalization;
using System.Text;
using nietras.SeparatedValues;
using Tern.Contracts;
using Tern.Server.Hosting;

namespace Tern.Server.Links;

/// <summary>
/// Links as CSV (RFC 4180, comma-separated, UTF-8, a header row). The columns are the JSON field names, with the
/// UTM parameters as <c>utm_source</c> … <c>utm_content</c>, the preview card as <c>preview_title</c>,
/// <c>preview_description</c> and <c>preview_image</c> (rules, variants and passwords only through JSON), and tags joined by <see cref="TagSeparator"/>. Reading
/// uses Sep (quoted commas, doubled quotes and line breaks inside quotes); a byte-order mark is skipped.
/// </summary>
public static class LinkCsv
{
    /// <summary>Between tags in one cell; <c>;</c> is left alone because it is the column separator of many locales.</summary>
    public const char TagSeparator = '|';

    /// <summary>The columns an import may give, in export order.</summary>
    public static readonly string[] Columns =
    [
        "url", "slug", "domain", "title", "tags", "externalId", "expiresAt", "expiredUrl", "maxClicks", "redirectType",
        "forwardQuery", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "startsAt", "prelaunchUrl",
        "preview_title", "preview_description", "preview_image",
    ];

    /// <summary>
    /// Written by the export after the counters, and read by an import: a moved link keeps its creation instant, so an
    /// export of one Tern imported into another keeps its dates.
    /// </summary>
    public const string CreatedAtColumn = "createdAt";

    /// <summary>Written by the export and ignored by an import, so an exported file can be imported as it is.</summary>
    public static readonly string[] ReadOnlyColumns = ["id", "shortUrl", "clicks", "archived", "updatedAt"];

    public static readonly string[] ExportColumns =
        ["id", "shortUrl", .. Columns, "clicks", "archived", "createdAt", "updatedAt"];

    public static readonly string[] ResultColumns = ["index", "status", "id", "slug", "shortUrl", "error"];

    private static readonly HashSet<string> Known = new([.. Columns, CreatedAtColumn, .. ReadOnlyColumns], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// One item per data row (blank lines skipped). A problem with the file as a whole (no header, an unknown or
    /// repeated column, a row with the wrong number of cells) comes back in <paramref name="problem"/>; a bad
    /// cell only fails its own item.
    /// </summary>
    public static IReadOnlyList<BulkItem> Read(string text, out string? problem)
    {
        problem = null;
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        // The header is read as a row like any other, so that a repeated column gets Tern's answer rather than Sep's.
        using var reader = Sep.New(',').Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true }).FromText(text);
        using var rows = reader.GetEnumerator();
        if (!rows.MoveNext() || (rows.Current.ColCount == 1 && rows.Current[0].Span.IsEmpty))
        {
            problem = "The CSV has no header row; the first row must name the columns (url, slug, tags, …).";
            return [];
        }

        var names = Enumerable.Range(0, rows.Current.ColCount).Select(i => rows.Current[i].ToString().Trim()).ToList();
        if (names.FirstOrDefault(n => !Known.Contains(n)) is { } unknown)
        {
            problem = $"Unknown column '{unknown}'. Known columns: {string.Join(", ", Columns)}, {CreatedAtColumn} (and, ignored, {string.Join(", ", ReadOnlyColumns)}).";
            return [];
        }

        if (names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            problem = $"The column '{repeated.Key}' appears more than once.";
            return [];
        }

        if (!names.Contains("url", StringComparer.OrdinalIgnoreCase))
        {
            problem = "The CSV has no url column; every link needs one.";
            return [];
        }

        var items = new List<BulkItem>();
        var cells = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (rows.MoveNext())
        {
            var row = rows.Current;
            if (row.ColCount == 1 && row[0].Span.IsEmpty)
            {
                continue;
            }

            if (row.ColCount != names.Count)
            {
                problem = $"The row on line {row.LineNumberFrom} has {row.ColCount} cells; the header has {names.Count}. " +
                    "Quote cells that hold commas, quotes or line breaks.";
                return [];
            }

            cells.Clear();
            for (var i = 0; i < names.Count; i++)
            {
                cells[names[i]] = CsvText.Unguard(row[i].ToString());
            }

            items.Add(ToItem(cells));
        }

        return items;
    }

    /// <summary>
    /// The file as smaller files of at most <paramref name="rowsPerPart"/> data rows, each under the header, with each row's text
    /// as written (quotes and line breaks inside quotes kept); blank lines are dropped as <see cref="Read"/> skips them, so
    /// part <c>k</c> holds the items <c>k × rowsPerPart</c> onwards. Meant for a file <see cref="Read"/> accepted.
    /// </summary>
    public static IReadOnlyList<string> Split(string text, int rowsPerPart)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerPart, 1);
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        using var reader = Sep.New(',').Reader(o => o with { HasHeader = false, Unescape = false, DisableColCountCheck = true }).FromText(text);
        using var rows = reader.GetEnumerator();
        if (!rows.MoveNext())
        {
            return [];
        }

        var header = rows.Current.Span.ToString() + "\r\n";
        var parts = new List<string>();
        var part = new StringBuilder(header);
        var count = 0;
        while (rows.MoveNext())
        {
            var row = rows.Current;
            if (row.ColCount == 1 && row[0].Span.IsEmpty)
            {
                continue;
            }

            part.Append(row.Span).Append("\r\n");
            if (++count == rowsPerPart)
            {
                parts.Add(part.ToString());
                part.Clear().Append(header);
                count = 0;
            }
        }

        if (count > 0)
        {
            parts.Add(part.ToString());
        }

        return parts;
    }

    /// <summary>A row as a link body: an empty cell is an absent field; cells that are not what their column holds fail the item.</summary>
    private static BulkItem ToItem(Dictionary<string, string> cells)
    {
        var errors = new Dictionary<string, string[]>();
        foreach (var (column, cell) in cells)
        {
            if (cell.Contains('\0', StringComparison.Ordinal))
            {
                errors[column] = [$"{column} contains U+0000 (NUL), which no field may hold."];
            }
        }

        string? Text(string column) => cells.TryGetValue(column, out var value) && value.Length > 0 ? value : null;
        T? Parse<T>(string column, string expected, Func<string, T?> parse) where T : struct
        {
            if (Text(column) is not { } text)
            {
                return null;
            }

            var value = parse(text.Trim());
            if (value is null)
            {
                errors[column] = [$"{column} must be {expected}; the cell holds '{text}'."];
            }

            return value;
        }

        DateTimeOffset? InstantCell(string column, string example) => Parse<DateTimeOffset>(column, "an ISO-8601 instant such as " + example, t =>
            DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null);

        var request = new CreateLinkRequest
        {
            Url = Text("url"),
            Slug = Text("slug"),
            Domain = Text("domain"),
            Title = Text("title"),
            Tags = Text("tags")?.Split(TagSeparator, StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            ExternalId = Text("externalId"),
            ExpiresAt = InstantCell("expiresAt", "2030-01-02T03:04:05Z"),
            ExpiredUrl = Text("expiredUrl"),
            MaxClicks = Parse("maxClicks", "a whole number", t => long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (long?)null),
            RedirectType = Parse("redirectType", "301, 302, 307 or 308", t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : (int?)null),
            ForwardQuery = Parse("forwardQuery", "true or false", t => bool.TryParse(t, out var b) ? b : (bool?)null),
            Utm = new UtmParameters
            {
                Source = Text("utm_source"),
                Medium = Text("utm_medium"),
                Campaign = Text("utm_campaign"),
                Term = Text("utm_term"),
                Content = Text("utm_content"),
            },
            StartsAt = InstantCell("startsAt", "2030-01-02T03:04:05Z"),
            PrelaunchUrl = Text("prelaunchUrl"),
            Preview = Text("preview_title") is null && Text("preview_description") is null && Text("preview_image") is null ? null : new LinkPreview
            {
                Title = Text("preview_title"),
                Description = Text("preview_description"),
                Image = Text("preview_image"),
            },
            CreatedAt = InstantCell(CreatedAtColumn, "2024-01-02T03:04:05Z"),
        };
        return errors.Count > 0 ? BulkItem.Reject(new LinkOutcome.Invalid(errors)) : BulkItem.Of(request);
    }

    public static string HeaderLine(IEnumerable<string> columns) => string.Join(',', columns) + "\r\n";

    /// <summary>One exported link, in <see cref="ExportColumns"/> order.</summary>
    public static string Line(LinkResponse link) => string.Join(',',
        CsvText.Cell(link.Id), CsvText.Cell(link.ShortUrl), CsvText.Cell(link.Url), CsvText.Cell(link.Slug), CsvText.Cell(link.Domain),
        CsvText.Cell(link.Title), CsvText.Cell(string.Join(TagSeparator, link.Tags)), CsvText.Cell(link.ExternalId),
        Instant(link.ExpiresAt), CsvText.Cell(link.ExpiredUrl),
        link.MaxClicks?.ToString(CultureInfo.InvariantCulture) ?? "", link.RedirectType.ToString(CultureInfo.InvariantCulture),
        link.ForwardQuery ? "true" : "false",
        CsvText.Cell(link.Utm?.Source), CsvText.Cell(link.Utm?.Medium), CsvText.Cell(link.Utm?.Campaign),
        CsvText.Cell(link.Utm?.Term), CsvText.Cell(link.Utm?.Content), Instant(link.StartsAt), CsvText.Cell(link.PrelaunchUrl),
        CsvText.Cell(link.Preview?.Title), CsvText.Cell(link.Preview?.Description), CsvText.Cell(link.Preview?.Image),
        link.Clicks.ToString(CultureInfo.InvariantCulture), link.Archived ? "true" : "false",
        Instant(link.CreatedAt), Instant(link.UpdatedAt)) + "\r\n";

    /// <summary>Bulk results as CSV: <c>index,status,id,slug,shortUrl,error</c>, the error being the problem's detail.</summary>
    public static string Results(IReadOnlyList<BulkItemResult> results)
    {
        var csv = new StringBuilder(HeaderLine(ResultColumns), 64 + (results.Count * 96));
        foreach (var result in results)
        {
            csv.AppendJoin(',', result.Index.ToString(CultureInfo.InvariantCulture), result.Status, CsvText.Cell(result.Link?.Id),
                CsvText.Cell(result.Link?.Slug ?? result.Expanded?.Slug), CsvText.Cell(result.Link?.ShortUrl), CsvText.Cell(ErrorText(result.Error)))
                .Append("\r\n");
        }

        return csv.ToString();
    }

    private static string? ErrorText(ItemProblem? error) =>
        error is null ? null
            : error.Errors is { Count: > 1 } errors ? string.Join(" ", errors.SelectMany(e => e.Value))
            : error.Detail;

    private static string Instant(DateTimeOffset? value) => value is { } at
        ? at.UtcDateTime.ToString(at.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
        : "";
}
