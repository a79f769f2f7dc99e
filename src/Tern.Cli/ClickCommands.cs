using System.CommandLine;
using Tern.Client;

namespace Tern.Cli;

/// <summary><c>tern clicks export</c>.</summary>
public static class ClickCommands
{
    public static Command Build(Cli cli)
    {
        var link = new Option<string?>("--link") { Description = "Only the clicks of this link (slug or id)" };
        var from = new Option<string?>("--from") { Description = "ISO-8601 instant: clicks at or after it" };
        var to = new Option<string?>("--to") { Description = "ISO-8601 instant: clicks before it" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file (default: standard output)" };
        var export = new Command("export", "Raw clicks as CSV") { link, from, to, output };
        cli.Runs(export, async (parse, client, cancellationToken) =>
        {
            var filter = new ClickFilter
            {
                LinkId = parse.GetValue(link) is { } l ? (await LinkCommands.ResolveAsync(client, l, cancellationToken)).Id : null,
                From = parse.GetValue(from) is { } f ? LinkCommands.ParseInstant(f, "--from") : null,
                To = parse.GetValue(to) is { } t ? LinkCommands.ParseInstant(t, "--to") : null,
            };
            await using var csv = await client.ExportClicksCsvAsync(filter, cancellationToken);
            await Csv.CopyAsync(cli, csv, parse.GetValue(output), cancellationToken);
            return TernCli.Ok;
        });
        return new Command("clicks", "Raw click records") { export };
    }
}
