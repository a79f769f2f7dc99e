using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Tern.Client;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary><c>tern stats [SLUG_OR_ID]</c>: a link's (or the workspace's) clicks with a bar chart of the time series.</summary>
public static class StatsCommand
{
    private const int Top = 5;

    public static Command Build(Cli cli)
    {
        var link = new Argument<string?>("SLUG_OR_ID") { Description = "The link (default: the whole workspace)", Arity = ArgumentArity.ZeroOrOne };
        var from = new Option<string?>("--from") { Description = "ISO-8601 start (default: 30 days ago)" };
        var to = new Option<string?>("--to") { Description = "ISO-8601 end (default: now)" };
        var interval = new Option<string?>("--interval") { Description = "hour, day, week or month" };
        interval.AcceptOnlyFromAmong("hour", "day", "week", "month");
        var tag = new Option<string?>("--tag") { Description = "Workspace stats of the links with this tag" };
        var command = new Command("stats", "Clicks over time, countries, devices, browsers and referrers") { link, from, to, interval, tag };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var range = new StatsRange
            {
                From = parse.GetValue(from) is { } f ? LinkCommands.ParseInstant(f, "--from") : null,
                To = parse.GetValue(to) is { } t ? LinkCommands.ParseInstant(t, "--to") : null,
                Interval = parse.GetValue(interval),
            };
            string title;
            StatsResponse stats;
            if (parse.GetValue(link) is { } slugOrId)
            {
                var target = await LinkCommands.ResolveAsync(client, slugOrId, cancellationToken);
                stats = await client.GetLinkStatsAsync(target.Id, range, cancellationToken);
                title = target.ShortUrl;
            }
            else
            {
                stats = await client.GetWorkspaceStatsAsync(range, parse.GetValue(tag), cancellationToken);
                title = parse.GetValue(tag) is { } tagged ? $"links tagged {tagged}" : "workspace";
            }

            if (parse.GetValue(cli.Json))
            {
                cli.WriteJson(stats);
                return TernCli.Ok;
            }

            Render(cli.Context.Console, title, stats);
            return TernCli.Ok;
        });
    }

    public static void Render(IAnsiConsole console, string title, StatsResponse stats)
    {
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]{Markup.Escape(title)}[/]: {stats.Total:N0} clicks from {stats.From:yyyy-MM-dd HH:mm} to {stats.To:yyyy-MM-dd HH:mm} UTC"));
        var format = stats.Interval switch { "hour" => "MM-dd HH:mm", "month" => "yyyy-MM", _ => "yyyy-MM-dd" };
        var chart = new BarChart().Width(72).Label($"clicks per {stats.Interval}").LeftAlignLabel();
        foreach (var point in stats.Timeseries)
        {
            chart.AddItem(point.T.UtcDateTime.ToString(format, CultureInfo.InvariantCulture), point.Clicks, Color.SteelBlue);
        }

        console.Write(chart);
        console.WriteLine();
        var breakdowns = new[] { ("countries", stats.Countries), ("devices", stats.Devices), ("browsers", stats.Browsers), ("referrers", stats.Referrers) }
            .Where(b => b.Item2.Count > 0)
            .Select(b =>
            {
                var table = new Table().AddColumns(b.Item1, "clicks");
                foreach (var entry in b.Item2.Take(Top))
                {
                    table.AddRow(Markup.Escape(entry.Key ?? "(unknown)"), entry.Clicks.ToString("N0", CultureInfo.InvariantCulture));
                }

                return table;
            });
        console.Write(new Columns(breakdowns));
        if (stats.Links is { Count: > 0 } top)
        {
            var table = new Table().AddColumns("top links", "clicks");
            foreach (var entry in top)
            {
                table.AddRow(Markup.Escape(entry.ShortUrl ?? entry.Id), entry.Clicks.ToString("N0", CultureInfo.InvariantCulture));
            }

            console.Write(table);
        }
    }
}
