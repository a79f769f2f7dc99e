using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Tern.Client;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary><c>tern links create|list|get|update|archive|delete|import|export</c>.</summary>
public static class LinkCommands
{
    public static Command Build(Cli cli) => new("links", "Create, list, change and delete links; import and export CSV")
    {
        Create(cli), List(cli), Get(cli), Update(cli), Archive(cli), Delete(cli), LinkImport.Build(cli), Export(cli),
    };

    private static Command Create(Cli cli)
    {
        var url = new Argument<string>("URL") { Description = "The destination (absolute http or https)" };
        var slug = new Option<string?>("--slug") { Description = "Wanted slug (default: a random one)" };
        var tags = new Option<string[]>("--tag") { Description = "A tag; repeat for more", Arity = ArgumentArity.ZeroOrMore };
        var title = new Option<string?>("--title");
        var externalId = new Option<string?>("--external-id") { Description = "Your own id for the link, unique in the workspace" };
        var domain = new Option<string?>("--domain") { Description = "Short domain (default: the server's)" };
        var expiresAt = new Option<DateTimeOffset?>("--expires-at") { Description = "ISO-8601 instant after which the link expires" };
        var utmSource = new Option<string?>("--utm-source");
        var utmMedium = new Option<string?>("--utm-medium");
        var utmCampaign = new Option<string?>("--utm-campaign");
        var command = new Command("create", "Create a link (a repeat with the same slug and definition returns the existing one)")
        {
            url, slug, tags, title, externalId, domain, expiresAt, utmSource, utmMedium, utmCampaign,
        };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var utm = new UtmParameters { Source = parse.GetValue(utmSource), Medium = parse.GetValue(utmMedium), Campaign = parse.GetValue(utmCampaign) };
            var link = await client.CreateLinkAsync(new CreateLinkRequest
            {
                Url = parse.GetValue(url),
                Slug = parse.GetValue(slug),
                Tags = parse.GetValue(tags) is { Length: > 0 } t ? t : null,
                Title = parse.GetValue(title),
                ExternalId = parse.GetValue(externalId),
                Domain = parse.GetValue(domain),
                ExpiresAt = parse.GetValue(expiresAt),
                Utm = utm == new UtmParameters() ? null : utm,
            }, cancellationToken);
            Print(cli, parse, link);
            return TernCli.Ok;
        });
    }

    private static Command List(Cli cli)
    {
        var tag = new Option<string?>("--tag") { Description = "Only links with this tag" };
        var search = new Option<string?>("--search", "-q") { Description = "Search slug, destination and title" };
        var archived = new Option<bool?>("--archived") { Description = "true: only archived links; false: only active ones" };
        var limit = new Option<int>("--limit") { Description = "How many links at most (0: all)", DefaultValueFactory = _ => 50 };
        var command = new Command("list", "List links, newest first") { tag, search, archived, limit };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var filter = new LinkFilter { Tag = parse.GetValue(tag), Query = parse.GetValue(search), Archived = parse.GetValue(archived) };
            var max = parse.GetValue(limit);
            if (max < 0)
            {
                throw new UsageException("--limit must be 0 (all) or more.");
            }

            var links = new List<LinkResponse>();
            await foreach (var link in client.ListLinksAsync(filter, cancellationToken))
            {
                if (max > 0 && links.Count == max)
                {
                    break;
                }

                links.Add(link);
            }

            if (parse.GetValue(cli.Json))
            {
                cli.WriteJson(links);
                return TernCli.Ok;
            }

            var table = new Table().AddColumns("id", "short URL", "destination", "tags", "clicks", "created");
            foreach (var link in links)
            {
                table.AddRow(Markup.Escape(link.Id), Markup.Escape(link.ShortUrl), Markup.Escape(Shorten(link.Url, 60)),
                    Markup.Escape(string.Join(", ", link.Tags)), link.Clicks.ToString("N0", CultureInfo.InvariantCulture),
                    link.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + (link.Archived ? " (archived)" : ""));
            }

            cli.Context.Console.Write(table);
            return TernCli.Ok;
        });
    }

    private static Command Get(Cli cli)
    {
        var link = new Argument<string>("SLUG_OR_ID");
        var command = new Command("get", "Show a link") { link };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            Print(cli, parse, await ResolveAsync(client, parse.GetValue(link)!, cancellationToken));
            return TernCli.Ok;
        });
    }

    private static Command Update(Cli cli)
    {
        var link = new Argument<string>("SLUG_OR_ID");
        var url = new Option<string?>("--url") { Description = "New destination" };
        var slug = new Option<string?>("--slug");
        var title = new Option<string?>("--title") { Description = "New title (\"\" clears it)" };
        var tags = new Option<string[]>("--tag") { Description = "Replaces the tags; repeat for more", Arity = ArgumentArity.ZeroOrMore };
        var clearTags = new Option<bool>("--clear-tags");
        var expiresAt = new Option<string?>("--expires-at") { Description = "ISO-8601 instant (\"\" clears it)" };
        var command = new Command("update", "Change a link; options not given stay as they are") { link, url, slug, title, tags, clearTags, expiresAt };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var change = new UpdateLinkRequest();
            if (parse.GetValue(url) is { } u)
            {
                change = change with { Url = u };
            }

            if (parse.GetValue(slug) is { } s)
            {
                change = change with { Slug = s };
            }

            if (parse.GetValue(title) is { } t)
            {
                change = change with { Title = t.Length == 0 ? null : t };
            }

            if (parse.GetValue(tags) is { Length: > 0 } newTags)
            {
                change = change with { Tags = newTags };
            }
            else if (parse.GetValue(clearTags))
            {
                change = change with { Tags = new Optional<IReadOnlyList<string>?>(null) };
            }

            if (parse.GetValue(expiresAt) is { } e)
            {
                change = change with { ExpiresAt = e.Length == 0 ? new Optional<DateTimeOffset?>(null) : ParseInstant(e, "--expires-at") };
            }

            var target = await ResolveAsync(client, parse.GetValue(link)!, cancellationToken);
            Print(cli, parse, await client.UpdateLinkAsync(target.Id, change, cancellationToken));
            return TernCli.Ok;
        });
    }

    private static Command Archive(Cli cli)
    {
        var link = new Argument<string>("SLUG_OR_ID");
        var undo = new Option<bool>("--undo") { Description = "Make an archived link active again" };
        var command = new Command("archive", "Archive a link: it stops redirecting (or goes to its expiredUrl) and keeps its clicks") { link, undo };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var target = await ResolveAsync(client, parse.GetValue(link)!, cancellationToken);
            Print(cli, parse, await client.UpdateLinkAsync(target.Id, new UpdateLinkRequest { Archived = !parse.GetValue(undo) }, cancellationToken));
            return TernCli.Ok;
        });
    }

    private static Command Delete(Cli cli)
    {
        var link = new Argument<string>("SLUG_OR_ID");
        var command = new Command("delete", "Delete a link") { link };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var target = await ResolveAsync(client, parse.GetValue(link)!, cancellationToken);
            await client.DeleteLinkAsync(target.Id, cancellationToken);
            if (parse.GetValue(cli.Json))
            {
                await cli.Context.Out.WriteLineAsync($$"""{ "deleted": "{{target.Id}}" }""");
            }
            else
            {
                await cli.Context.Out.WriteLineAsync($"Deleted {target.Id} ({target.ShortUrl}).");
            }

            return TernCli.Ok;
        });
    }

    private static Command Export(Cli cli)
    {
        var tag = new Option<string?>("--tag") { Description = "Only links with this tag" };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file (default: standard output)" };
        var command = new Command("export", "Every link as CSV (the columns 'tern links import' reads)") { tag, output };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            await using var csv = await client.ExportLinksCsvAsync(new LinkFilter { Tag = parse.GetValue(tag) }, cancellationToken);
            await Csv.CopyAsync(cli, csv, parse.GetValue(output), cancellationToken);
            return TernCli.Ok;
        });
    }

    /// <summary>A link by id (<c>lnk_…</c>) or by slug on any of the workspace's domains.</summary>
    public static async Task<LinkResponse> ResolveAsync(TernClient client, string slugOrId, CancellationToken cancellationToken)
    {
        if (slugOrId.StartsWith("lnk_", StringComparison.Ordinal))
        {
            return await client.GetLinkAsync(slugOrId, cancellationToken);
        }

        await foreach (var link in client.ListLinksAsync(new LinkFilter { Query = slugOrId }, cancellationToken))
        {
            if (link.Slug == slugOrId)
            {
                return link;
            }
        }

        throw new TernApiException(404, new TernProblem { Status = 404, Title = "Not Found", Detail = $"No link has the slug '{slugOrId}'." });
    }

    public static DateTimeOffset ParseInstant(string text, string option) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new UsageException($"{option} must be an ISO-8601 instant such as 2030-01-02T03:04:05Z, not '{text}'.");

    private static void Print(Cli cli, ParseResult parse, LinkResponse link)
    {
        if (parse.GetValue(cli.Json))
        {
            cli.WriteJson(link);
            return;
        }

        var grid = new Grid().AddColumn().AddColumn();
        void Row(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                grid.AddRow(name, Markup.Escape(value));
            }
        }

        Row("short URL", link.ShortUrl);
        Row("destination", link.Url);
        Row("id", link.Id);
        Row("title", link.Title);
        Row("tags", string.Join(", ", link.Tags));
        Row("external id", link.ExternalId);
        Row("expires", link.ExpiresAt?.ToString("u", CultureInfo.InvariantCulture));
        Row("status", link.Archived ? "archived" : "active");
        Row("clicks", link.Clicks.ToString("N0", CultureInfo.InvariantCulture));
        Row("created", link.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
        cli.Context.Console.Write(grid);
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
