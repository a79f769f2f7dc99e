using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;
using Tern.Client;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary>Where an import writes its results and its progress, and how it sends.</summary>
public sealed record ImportSettings(string SourcePath, string ResultsPath, int BatchSize, bool Restart, IReadOnlyList<string> ExtraTags)
{
    /// <summary>The small file that lets a stopped import resume: beside the results, removed when the import completes.</summary>
    public string StatePath => ResultsPath + ".state.json";
}

/// <summary>The options every import command shares.</summary>
public sealed class ImportOptions
{
    private readonly Option<string?> _results = new("--results") { Description = "Results CSV (default: FILE.results.csv)" };
    private readonly Option<int> _batchSize = new("--batch-size") { Description = "Links per bulk call (1 to 1000)", DefaultValueFactory = _ => BulkImport.MaxBatch };
    private readonly Option<bool> _restart = new("--restart") { Description = "Ignore saved progress and start at the first row" };
    private readonly Option<string[]> _tags = new("--tag") { Description = "Add this tag to every link; repeat for more", Arity = ArgumentArity.ZeroOrMore };

    public ImportOptions(Command command)
    {
        command.Add(_results);
        command.Add(_batchSize);
        command.Add(_restart);
        command.Add(_tags);
    }

    public ImportSettings From(ParseResult parse, FileInfo source)
    {
        var batch = parse.GetValue(_batchSize);
        if (batch is < 1 or > BulkImport.MaxBatch)
        {
            throw new UsageException($"--batch-size must be 1 to {BulkImport.MaxBatch}.");
        }

        var results = parse.GetValue(_results) ?? Path.ChangeExtension(source.FullName, null) + ".results.csv";
        return new ImportSettings(source.FullName, Path.GetFullPath(results), batch, parse.GetValue(_restart), parse.GetValue(_tags) ?? []);
    }
}

/// <summary>
/// Sends rows to <c>POST /api/v1/links/bulk</c> a batch at a time, writes one results line per row, and after each batch
/// records how far it got, so a run stopped by Ctrl-C (or a crash) resumes at the next batch. A batch already on its way
/// when Ctrl-C comes is finished first. Rows with a slug or externalId are idempotent on the server: sending them twice
/// answers "existing" and creates nothing.
/// </summary>
public sealed class BulkImport(Cli cli, TernClient client, ImportSettings settings, bool json)
{
    public const int MaxBatch = 1000;
    private const string ResultsHeader = "line,status,id,slug,shortUrl,error,sourceCreatedAt";

    public static ImportOptions AddOptions(Command command) => new(command);

    public async Task<int> RunAsync(IReadOnlyList<ImportRow> rows, CancellationToken cancellationToken)
    {
        var source = new FileInfo(settings.SourcePath);
        var fingerprint = $"{source.Length}:{source.LastWriteTimeUtc.Ticks}";
        var state = settings.Restart ? null : ImportState.Load(settings.StatePath, fingerprint, settings.ResultsPath);
        state ??= new ImportState(fingerprint);
        var output = cli.Context;
        if (state.Done > 0)
        {
            await output.Error.WriteLineAsync($"Resuming after row {state.Done:N0} of {rows.Count:N0} ({settings.StatePath}).");
        }

        var anonymous = rows.Skip(state.Done).Count(r => r.Link is { Slug: null, ExternalId: null });
        if (anonymous > 0)
        {
            await output.Error.WriteLineAsync(
                $"Note: {anonymous:N0} rows have neither slug nor externalId; running this import again after it completes would create them again.");
        }

        await using (var results = new StreamWriter(settings.ResultsPath, append: state.Done > 0))
        {
            if (state.Done == 0)
            {
                await results.WriteLineAsync(ResultsHeader);
            }

            if (output.Interactive)
            {
                await output.Console.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RateColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask("import", maxValue: rows.Count);
                        task.Value = state.Done;
                        await SendAsync(rows, state, results, sent => task.Increment(sent), cancellationToken);
                    });
            }
            else
            {
                var clock = Stopwatch.StartNew();
                var start = state.Done;
                await SendAsync(rows, state, results, _ =>
                {
                    var rate = (state.Done - start) / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
                    var eta = TimeSpan.FromSeconds(Math.Round((rows.Count - state.Done) / Math.Max(rate, 0.001)));
                    output.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{state.Done:N0}/{rows.Count:N0} rows  {rate:N0} rows/s  ETA {eta:hh\\:mm\\:ss}"));
                }, cancellationToken);
            }
        }

        if (state.Done < rows.Count)
        {
            await output.Error.WriteLineAsync($"Stopped after row {state.Done:N0} of {rows.Count:N0}; run the same command again to resume.");
            return TernCli.Interrupted;
        }

        File.Delete(settings.StatePath);
        await output.Out.WriteLineAsync(json
            ? $$"""{ "rows": {{rows.Count}}, "created": {{state.Created}}, "existing": {{state.Existing}}, "failed": {{state.Failed}}, "results": {{System.Text.Json.JsonSerializer.Serialize(settings.ResultsPath, TernJsonContext.Default.String)}} }"""
            : $"Imported {rows.Count:N0} rows: {state.Created:N0} created, {state.Existing:N0} existing, {state.Failed:N0} failed. Results: {settings.ResultsPath}");
        return state.Failed > 0 ? TernCli.Failed : TernCli.Ok;
    }

    private async Task SendAsync(IReadOnlyList<ImportRow> rows, ImportState state, StreamWriter results, Action<int> advanced, CancellationToken cancellationToken)
    {
        while (state.Done < rows.Count && !cancellationToken.IsCancellationRequested)
        {
            var batch = rows.Skip(state.Done).Take(settings.BatchSize).ToList();
            var valid = batch.Where(r => r.Link is not null).ToList();
            var answers = valid.Count == 0 ? []
                // Not cancelled midway: once sent, the batch's answer is recorded, so a resume never guesses.
                : (await client.CreateLinksAsync([.. valid.Select(r => WithTags(r.Link!))], CancellationToken.None)).Results;
            var byRow = new Dictionary<ImportRow, BulkItemResult>();
            foreach (var answer in answers)
            {
                byRow[valid[answer.Index]] = answer;
            }

            foreach (var row in batch)
            {
                var answer = byRow.GetValueOrDefault(row);
                var status = answer?.Status ?? "error";
                var error = row.Error ?? (answer?.Error is { } problem ? Describe(problem) : null);
                _ = status switch
                {
                    "created" => state.Created++,
                    "existing" => state.Existing++,
                    _ => state.Failed++,
                };
                await results.WriteLineAsync(string.Join(',', row.Line.ToString(CultureInfo.InvariantCulture), status,
                    Csv.Cell(answer?.Link?.Id), Csv.Cell(answer?.Link?.Slug ?? row.Link?.Slug), Csv.Cell(answer?.Link?.ShortUrl), Csv.Cell(error),
                    row.SourceCreatedAt?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? ""));
            }

            await results.FlushAsync(CancellationToken.None);
            state.Done += batch.Count;
            state.Save(settings.StatePath);
            advanced(batch.Count);
        }
    }

    private CreateLinkRequest WithTags(CreateLinkRequest link) =>
        settings.ExtraTags.Count == 0 ? link : link with { Tags = [.. (link.Tags ?? []).Concat(settings.ExtraTags).Distinct(StringComparer.Ordinal)] };

    private static string Describe(ItemProblem problem) =>
        problem.Errors is { Count: > 0 } errors
            ? string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"))
            : $"{problem.Title}: {problem.Detail}";

    /// <summary>Rows per second, from Spectre's own measure of the task's pace.</summary>
    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(string.Create(CultureInfo.InvariantCulture, $"{task.Speed ?? 0:N0} rows/s"));
    }
}

/// <summary>How far an import got; saved after every batch.</summary>
public sealed class ImportState(string fingerprint)
{
    public string Fingerprint { get; } = fingerprint;
    public int Done { get; set; }
    public long Created { get; set; }
    public long Existing { get; set; }
    public long Failed { get; set; }

    /// <summary>The saved state, if there is one for this very file and its results are still there.</summary>
    public static ImportState? Load(string path, string fingerprint, string resultsPath)
    {
        if (!File.Exists(path) || !File.Exists(resultsPath))
        {
            return null;
        }

        var saved = JsonNode.Parse(File.ReadAllText(path))!;
        return (string?)saved["source"] != fingerprint ? null : new ImportState(fingerprint)
        {
            Done = (int)saved["done"]!,
            Created = (long)saved["created"]!,
            Existing = (long)saved["existing"]!,
            Failed = (long)saved["failed"]!,
        };
    }

    /// <summary>Written beside and then moved over the old one, so a crash mid-write leaves the previous state.</summary>
    public void Save(string path)
    {
        var json = new JsonObject { ["source"] = Fingerprint, ["done"] = Done, ["created"] = Created, ["existing"] = Existing, ["failed"] = Failed };
        File.WriteAllText(path + ".tmp", json.ToJsonString());
        File.Move(path + ".tmp", path, overwrite: true);
    }
}
