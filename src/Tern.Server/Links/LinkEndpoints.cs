using System.Security.Claims;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Links;

/// <summary><c>/api/v1/links</c>: create, read, list, change, delete and upsert by externalId.</summary>
public static class LinkEndpoints
{
    public static void MapLinks(this RouteGroupBuilder api)
    {
        var links = api.MapGroup("/links").WithTags("Links");

        var reads = links.MapGroup("").RequireAuthorization(Scopes.LinksRead);
        reads.MapGet("/", ListLinks).WithName("ListLinks")
            .WithSummary("List links, newest first, with filters and a cursor; format=csv (or Accept: text/csv) exports them all as CSV");
        reads.MapGet("/{id}", GetLink).WithName("GetLink").WithSummary("Get a link");
        reads.MapLinkQrCodes();

        var writes = links.MapGroup("").RequireAuthorization(Scopes.LinksWrite);
        writes.MapPost("/", CreateLink).WithName("CreateLink")
            .WithSummary("Create a link (a repeat of the same create returns the existing link with 200)");
        // The same call with a form body: routing picks this endpoint by Content-Type; the document shows it as a second
        // body type of CreateLink. A request with no Content-Type matches both; the later order leaves it to CreateLink (415).
        writes.MapPost("/", CreateLinkFromForm).Accepts<CreateLinkRequest>(LinkFormReader.ContentType).WithOrder(1).ExcludeFromDescription();
        writes.MapPatch("/{id}", UpdateLink).WithName("UpdateLink").WithSummary("Change a link: absent fields stay, null clears");
        writes.MapDelete("/{id}", DeleteLink).WithName("DeleteLink").WithSummary("Delete a link");
        writes.MapPut("/external/{externalId}", UpsertLink).WithName("UpsertLinkByExternalId")
            .WithSummary("Create or replace the link with this externalId");
        links.MapBulkLinks();
    }

    public static async Task<Results<Created<LinkResponse>, Ok<LinkResponse>, ProblemHttpResult>> CreateLink(
        CreateLinkRequest body, ClaimsPrincipal user, LinkService links, LinkResponses responses, CancellationToken cancellationToken) =>
        await links.CreateAsync(TernClaims.WorkspaceOf(user), body, cancellationToken) switch
        {
            LinkOutcome.Created created => TypedResults.Created($"/api/v1/links/{created.Link.Id}", responses.From(created.Link)),
            LinkOutcome.Existing existing => TypedResults.Ok(responses.From(existing.Link)),
            var other => ToProblem(other),
        };

    /// <summary><c>POST /links</c> with an <c>application/x-www-form-urlencoded</c> body (see <see cref="LinkFormReader"/>).</summary>
    public static async Task<Results<Created<LinkResponse>, Ok<LinkResponse>, ProblemHttpResult>> CreateLinkFromForm(
        HttpRequest request, ClaimsPrincipal user, LinkService links, LinkResponses responses,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, CancellationToken cancellationToken)
    {
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException exception)
        {
            // ASP.NET's form reader refuses what it cannot decode, NUL (%00) included, before any field is known.
            return Problems.Result(Problems.MalformedRequest, "The form body could not be read: " + exception.Message);
        }

        var options = json.Value.SerializerOptions;
        var (body, errors) = LinkFormReader.Read(form, (JsonTypeInfo<CreateLinkRequest>)options.GetTypeInfo(typeof(CreateLinkRequest)), options);
        return body is null ? Problems.ValidationResult(errors) : await CreateLink(body, user, links, responses, cancellationToken);
    }

    public static async Task<Results<Created<LinkResponse>, Ok<LinkResponse>, ProblemHttpResult>> UpsertLink(
        string externalId, CreateLinkRequest body, ClaimsPrincipal user, LinkService links, LinkResponses responses,
        CancellationToken cancellationToken) =>
        await links.UpsertAsync(TernClaims.WorkspaceOf(user), externalId, body, cancellationToken) switch
        {
            LinkOutcome.Created created => TypedResults.Created($"/api/v1/links/{created.Link.Id}", responses.From(created.Link)),
            LinkOutcome.Existing existing => TypedResults.Ok(responses.From(existing.Link)),
            LinkOutcome.Updated updated => TypedResults.Ok(responses.From(updated.Link)),
            var other => ToProblem(other),
        };

    public static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> GetLink(
        string id, ClaimsPrincipal user, LinkService links, LinkResponses responses, CancellationToken cancellationToken) =>
        await links.FindAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is { } link
            ? TypedResults.Ok(responses.From(link))
            : Problems.Result(Problems.NotFound, $"No link has the id '{id}'.");

    public static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> UpdateLink(
        string id, UpdateLinkRequest body, ClaimsPrincipal user, LinkService links, LinkResponses responses,
        CancellationToken cancellationToken) =>
        await links.UpdateAsync(TernClaims.WorkspaceOf(user), id, body, cancellationToken) switch
        {
            LinkOutcome.Updated updated => TypedResults.Ok(responses.From(updated.Link)),
            var other => ToProblem(other),
        };

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteLink(
        string id, ClaimsPrincipal user, LinkService links, CancellationToken cancellationToken) =>
        await links.DeleteAsync(TernClaims.WorkspaceOf(user), id, cancellationToken) is not null
            ? TypedResults.NoContent()
            : Problems.Result(Problems.NotFound, $"No link has the id '{id}'.");

    public static async Task<Results<Ok<ListResponse<LinkResponse>>, PushStreamHttpResult, ProblemHttpResult>> ListLinks(
        HttpRequest request, ClaimsPrincipal user, LinkStore store, LinkResponses responses, CancellationToken cancellationToken,
        string? tag = null, string? q = null, string? archived = null, string? externalId = null, string? limit = null,
        string? cursor = null, string? format = null)
    {
        var errors = new Dictionary<string, string[]>();
        var pageSize = Paging.Parse(limit, cursor, "lnk", errors);

        bool? archivedFilter = null;
        if (archived is not null)
        {
            if (bool.TryParse(archived, out var value))
            {
                archivedFilter = value;
            }
            else
            {
                errors["archived"] = ["archived must be true or false."];
            }
        }

        if (format is not (null or "json" or "csv"))
        {
            errors["format"] = ["format must be json or csv."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var workspaceId = TernClaims.WorkspaceOf(user);
        var filter = new LinkFilter(tag, q, archivedFilter, externalId);
        if (format == "csv" || (format is null && BulkLinkEndpoints.WantsCsv(request)))
        {
            // Every matching link, newest first, like the click export: limit and cursor page JSON only.
            return TypedResults.Stream(stream => WriteCsvAsync(stream, store, responses, workspaceId, filter, cancellationToken),
                "text/csv; charset=utf-8", fileDownloadName: "links.csv");
        }

        var page = await store.ListAsync(workspaceId, filter, cursor, pageSize + 1, cancellationToken);
        var items = page.Take(pageSize).Select(responses.From).ToList();
        return TypedResults.Ok(new ListResponse<LinkResponse>(items, page.Count > pageSize ? items[^1].Id : null));
    }

    private static async Task WriteCsvAsync(
        Stream stream, LinkStore store, LinkResponses responses, string workspaceId, LinkFilter filter, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024);
        await writer.WriteAsync(LinkCsv.HeaderLine(LinkCsv.ExportColumns));
        string? before = null;
        while (true)
        {
            var page = await store.ListAsync(workspaceId, filter, before, Paging.MaxLimit, cancellationToken);
            foreach (var link in page)
            {
                await writer.WriteAsync(LinkCsv.Line(responses.From(link)));
            }

            if (page.Count < Paging.MaxLimit)
            {
                return;
            }

            before = page[^1].Id;
        }
    }

    /// <summary>The problem answer to a refused link change, for single and bulk calls alike.</summary>
    internal static ProblemHttpResult ToProblem(LinkOutcome outcome) => outcome switch
    {
        LinkOutcome.Invalid invalid => Problems.ValidationResult(invalid.Errors),
        LinkOutcome.Conflict conflict => Problems.Result(conflict.Kind, conflict.Detail),
        LinkOutcome.NotFound notFound => Problems.Result(Problems.NotFound, notFound.Detail),
        _ => throw new InvalidOperationException($"No problem maps {outcome.GetType().Name}."),
    };
}

/// <summary>A link's click count as this node knows it, which may run ahead of storage while clicks await their batch.</summary>
public interface ILiveClickCounts
{
    /// <summary>The count for the link: <paramref name="stored"/>, or more when this node has answered clicks not yet stored.</summary>
    long CountFor(string linkId, long stored);
}

/// <summary>Shapes a stored link for the API: its short URL, and the click count this node knows.</summary>
public sealed class LinkResponses(ShortDomains domains, ILiveClickCounts clickCounts)
{
    /// <summary>The click count a response shows for the link, given the stored one.</summary>
    public long CountFor(string linkId, long stored) => clickCounts.CountFor(linkId, stored);

    public LinkResponse From(Link link) => new()
    {
        Id = link.Id,
        Domain = link.Domain,
        Slug = link.Slug,
        ShortUrl = domains.ShortUrl(link.Domain, link.Slug),
        Url = link.Url,
        Utm = link.Utm,
        Tags = link.Tags,
        ExternalId = link.ExternalId,
        Title = link.Title,
        ExpiresAt = link.ExpiresAt,
        ExpiredUrl = link.ExpiredUrl,
        MaxClicks = link.MaxClicks,
        RedirectType = link.RedirectType,
        ForwardQuery = link.ForwardQuery,
        Archived = link.Archived,
        StartsAt = link.StartsAt,
        PrelaunchUrl = link.PrelaunchUrl,
        Rules = link.Rules,
        Variants = link.Variants,
        Preview = link.Preview,
        HasPassword = link.PasswordHash is not null,
        Clicks = clickCounts.CountFor(link.Id, link.Clicks),
        CreatedAt = link.CreatedAt,
        UpdatedAt = link.UpdatedAt,
    };
}
