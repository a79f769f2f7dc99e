using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using nietras.SeparatedValues;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary>
/// <c>tern import --from bitly|shlink|yourls|kutt FILE</c>: links from another shortener's export file, sent through the
/// same batched, resumable import as <c>tern links import</c>. Slugs, destinations, titles, tags and creation dates are
/// carried over (the creation date as the link's <c>createdAt</c>, and in the results file).
/// </summary>
public static partial class ForeignImportCommand
{
    public static readonly string[] Sources = ["bitly", "shlink", "yourls", "kutt"];

    public static Command Build(Cli cli)
    {
        var from = new Option<string>("--from") { Description = "The export's origin: bitly, shlink, yourls or kutt", Required = true };
        from.AcceptOnlyFromAmong(Sources);
        var file = new Argument<FileInfo>("FILE") { Description = "The export file (CSV, or JSON for kutt and the Bitly and Shlink APIs)" };
        var domain = new Option<string?>("--domain") { Description = "Short domain for the imported links (default: the server's)" };
        var command = new Command("import", "Move links from Bitly, Shlink, YOURLS or Kutt") { from, file, domain };
        var options = BulkImport.AddOptions(command);
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var source = parse.GetValue(file)!;
            if (!source.Exists)
            {
                throw new UsageException($"No file at {source.FullName}.");
            }

            var rows = Read(parse.GetValue(from)!, source.FullName);
            if (parse.GetValue(domain) is { } d)
            {
                rows = [.. rows.Select(r => r with { Link = r.Link is null ? null : r.Link with { Domain = d } })];
            }

            return await new BulkImport(cli, client, options.From(parse, source), parse.GetValue(cli.Json)).RunAsync(rows, cancellationToken);
        });
    }

    public static IReadOnlyList<ImportRow> Read(string system, string path)
    {
        var json = Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase);
        return (system, json) switch
        {
            ("bitly", false) => FromCsv(path, url: ["long_url", "long url", "original url", "destination"],
                slug: ["custom_bitlink", "custom back-half", "link", "bitlink", "short url", "short_url"], title: ["title"],
                created: ["created_at", "created", "date created", "creation date"], tags: ["tags"]),
            ("bitly", true) => FromJson(path, root => root.GetProperty("links"), item => new Foreign(
                Text(item, "long_url"),
                SlugOf(item.TryGetProperty("custom_bitlinks", out var custom) && custom.ValueKind == JsonValueKind.Array && custom.GetArrayLength() > 0
                    ? custom[0].GetString() : Text(item, "link") ?? Text(item, "id")),
                Text(item, "title"), Text(item, "created_at"), Tags(item, "tags"))),
            ("shlink", false) => FromCsv(path, url: ["longUrl", "long url"], slug: ["shortCode", "short code"], title: ["title"],
                created: ["createdAt", "dateCreated", "created at"], tags: ["tags"]),
            ("shlink", true) => FromJson(path, root => root.TryGetProperty("shortUrls", out var page) ? page.GetProperty("data") : root, item => new Foreign(
                Text(item, "longUrl"), Text(item, "shortCode"), Text(item, "title"), Text(item, "dateCreated"), Tags(item, "tags"))),
            ("yourls", false) => FromCsv(path, url: ["url"], slug: ["keyword"], title: ["title"], created: ["timestamp"], tags: []),
            ("kutt", true) => FromJson(path, root => root.ValueKind == JsonValueKind.Array ? root : root.GetProperty("data"), item => new Foreign(
                Text(item, "target"), Text(item, "address"), Text(item, "description"), Text(item, "created_at"), [])),
            ("yourls", true) => throw new UsageException("A YOURLS export is a CSV file (keyword,url,title,timestamp,ip,clicks)."),
            _ => throw new UsageException("A Kutt export is the JSON of its links API ({ \"data\": [ … ] })."),
        };
    }

    private sealed record Foreign(string? Url, string? Slug, string? Title, string? Created, IReadOnlyList<string> Tags);

    private static List<ImportRow> FromCsv(string path, string[] url, string[] slug, string[] title, string[] created, string[] tags)
    {
        using var reader = Sep.Auto.Reader(o => o with { Unescape = true, Trim = SepTrim.Outer }).FromFile(path);
        var names = reader.Header.ColNames;
        int Find(string[] aliases) => names.ToList().FindIndex(n => aliases.Contains(n.Trim(), StringComparer.OrdinalIgnoreCase));
        var (urlAt, slugAt, titleAt, createdAt, tagsAt) = (Find(url), Find(slug), Find(title), Find(created), Find(tags));
        if (urlAt < 0)
        {
            throw new UsageException($"{path} has no destination column ({string.Join(", ", url)}); found: {string.Join(", ", names)}.");
        }

        var rows = new List<ImportRow>();
        foreach (var row in reader)
        {
            var cells = new string?[names.Count];
            for (var i = 0; i < names.Count; i++)
            {
                cells[i] = row[i].ToString() is { Length: > 0 } text ? text : null;
            }

            string? Cell(int at) => at >= 0 ? cells[at] : null;
            var slugText = Cell(slugAt);
            rows.Add(ToRow(row.LineNumberFrom, new Foreign(Cell(urlAt), slugText?.Contains('/', StringComparison.Ordinal) == true ? SlugOf(slugText) : slugText,
                Cell(titleAt), Cell(createdAt), SplitTags(Cell(tagsAt)))));
        }

        return rows;
    }

    private static List<ImportRow> FromJson(string path, Func<JsonElement, JsonElement> items, Func<JsonElement, Foreign> map)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var rows = new List<ImportRow>();
        var index = 0;
        foreach (var item in items(document.RootElement).EnumerateArray())
        {
            rows.Add(ToRow(++index, map(item)));
        }

        return rows;
    }

    private static ImportRow ToRow(int line, Foreign link)
    {
        var created = Instant(link.Created);
        if (string.IsNullOrEmpty(link.Url))
        {
            return new ImportRow(line, null, "The row has no destination URL.", created);
        }

        return new ImportRow(line, new CreateLinkRequest
        {
            Url = link.Url,
            Slug = link.Slug,
            Title = link.Title,
            Tags = link.Tags.Count > 0 ? link.Tags : null,
            CreatedAt = created,
        }, SourceCreatedAt: created);
    }

    /// <summary>The back-half of a short URL: <c>https://bit.ly/3abc</c> or <c>bit.ly/3abc</c> → <c>3abc</c>.</summary>
    private static string? SlugOf(string? shortUrl) =>
        shortUrl is null ? null : shortUrl.TrimEnd('/')[(shortUrl.TrimEnd('/').LastIndexOf('/') + 1)..];

    private static string? Text(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static IReadOnlyList<string> Tags(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? [.. value.EnumerateArray().Select(t => t.GetString()).OfType<string>().Where(t => t.Length > 0)]
            : [];

    private static IReadOnlyList<string> SplitTags(string? cell) =>
        cell is null ? [] : cell.Split([',', '|', ';'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>ISO-8601 in its variants (<c>+0000</c> offsets, a space for the T), or YOURLS' <c>2021-03-04 10:11:12</c> taken as UTC.</summary>
    private static DateTimeOffset? Instant(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var normalized = CompactOffset().Replace(text.Trim(), "$1:$2");
        return DateTimeOffset.TryParse(normalized, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at : null;
    }

    [GeneratedRegex(@"([+-]\d{2})(\d{2})$")]
    private static partial Regex CompactOffset();
}
