using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Tern.Contracts;
using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Links;

/// <summary>
/// Bulk link calls: create many (JSON or CSV), change or delete the links a filter selects, and expand a
/// campaign matrix. Every item is held to the rules of the single-link calls.
/// </summary>
public static class BulkLinkEndpoints
{
    public static void MapBulkLinks(this RouteGroupBuilder links)
    {
        var writes = links.MapGroup("").RequireAuthorization(Scopes.LinksWrite);
        writes.MapPost("/bulk", CreateLinks)
            .Accepts<BulkCreateRequest>("application/json", "text/csv")
            .Produces<BulkCreateResponse>(StatusCodes.Status200OK, "application/json", "text/csv")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("CreateLinks")
            .WithSummary($"Create up to {BulkLinkService.MaxItems} links from JSON items or CSV rows; one result per item, in order (200 even when some fail)");
        writes.MapPatch("/bulk", UpdateLinks)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithName("UpdateLinks")
            .WithSummary($"Change every link with the given ids or tag (at most {BulkLinkService.MaxUpdated}, all or none): absent fields stay, null clears");
        writes.MapPost("/bulk-delete", DeleteLinks)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .WithName("DeleteLinks").WithSummary("Delete every link with the given ids or tag, 500 per transaction");
        writes.MapPost("/matrix", CreateMatrix)
            .WithName("CreateLinkMatrix")
            .WithSummary("Create one link per combination of the dimensions' values from a template with {dimension} placeholders (dryRun: preview)");
    }

    public static async Task<IResult> CreateLinks(
        HttpRequest request, ClaimsPrincipal user, BulkLinkService bulk, LinkResponses responses, CancellationToken cancellationToken)
    {
        var mediaType = MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) ? contentType.MediaType.Value : null;
        IReadOnlyList<BulkItem> items;
        if (string.Equals(mediaType, "text/csv", StringComparison.OrdinalIgnoreCase))
        {
            using var text = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            items = LinkCsv.Read(await text.ReadToEndAsync(cancellationToken), out var csvProblem);
            if (csvProblem is not null)
            {
                return Problems.Result(Problems.MalformedRequest, csvProblem);
            }
        }
        else if (mediaType is null || mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                 || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase))
        {
            var json = request.HttpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
            var (parsed, problem) = await ReadJsonItemsAsync(request.Body, json, cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            items = parsed!;
        }
        else
        {
            return Problems.Result(Problems.UnsupportedMediaType, $"Send the items as application/json or as text/csv, not {mediaType}.");
        }

        if (items.Count == 0)
        {
            return Problems.ValidationResult(new Dictionary<string, string[]> { ["items"] = [$"items must hold 1 to {BulkLinkService.MaxItems} links."] });
        }

        if (items.Count > BulkLinkService.MaxItems)
        {
            return Problems.Result(Problems.BatchTooLarge, $"The batch has {items.Count} items; at most {BulkLinkService.MaxItems} per call.");
        }

        var outcomes = await bulk.ExecuteAsync(TernClaims.WorkspaceOf(user), bulk.Plan(items), dryRun: false, cancellationToken);
        return Answer(request, ToResults(outcomes, responses, expanded: null));
    }

    public static async Task<Results<Ok<BulkUpdateResponse>, ProblemHttpResult>> UpdateLinks(
        BulkUpdateRequest body, ClaimsPrincipal user, BulkLinkService bulk, CancellationToken cancellationToken) =>
        await bulk.UpdateAsync(TernClaims.WorkspaceOf(user), body.Filter, body.Set, cancellationToken) switch
        {
            BulkChange.Done done => TypedResults.Ok(new BulkUpdateResponse(done.Changed, done.Matched)),
            BulkChange.Refused refused => LinkEndpoints.ToProblem(refused.Reason),
            var other => throw new InvalidOperationException($"Unexpected {other}."),
        };

    public static async Task<Results<Ok<BulkDeleteResponse>, ProblemHttpResult>> DeleteLinks(
        BulkDeleteRequest body, ClaimsPrincipal user, BulkLinkService bulk, CancellationToken cancellationToken) =>
        await bulk.DeleteAsync(TernClaims.WorkspaceOf(user), body.Filter, cancellationToken) switch
        {
            BulkChange.Done done => TypedResults.Ok(new BulkDeleteResponse(done.Changed)),
            BulkChange.Refused refused => LinkEndpoints.ToProblem(refused.Reason),
            var other => throw new InvalidOperationException($"Unexpected {other}."),
        };

    /// <summary>
    /// All or nothing before writing: when any combination expands to an invalid link (or clashes with another
    /// combination), the answer is a 400 naming each, and nothing is written. Clashes with links already stored are
    /// answered per item, as in a bulk create.
    /// </summary>
    public static async Task<Results<Ok<BulkCreateResponse>, ProblemHttpResult>> CreateMatrix(
        MatrixRequest body, ClaimsPrincipal user, BulkLinkService bulk, LinkResponses responses, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (body.Template is null)
        {
            errors["template"] = ["template is required: a link body whose strings may hold {dimension} placeholders."];
        }

        var dimensions = body.Dimensions?.ToList() ?? [];
        if (body.Dimensions is null)
        {
            errors["dimensions"] = ["dimensions is required, e.g. { \"brand\": [\"a\", \"b\"] }."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        CampaignMatrix.Check(body.Template!, dimensions, errors);
        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var combinations = CampaignMatrix.Combinations(dimensions);
        if (combinations > CampaignMatrix.MaxCombinations)
        {
            return Problems.Result(Problems.BatchTooLarge,
                $"The matrix has {string.Join(" × ", dimensions.Select(d => d.Value.Count))} = {combinations} combinations; " +
                $"at most {CampaignMatrix.MaxCombinations} per call.");
        }

        var values = CampaignMatrix.Combine(dimensions).ToList();
        var expanded = values.Select(v => CampaignMatrix.Expand(body.Template!, v)).ToList();
        var plan = bulk.Plan([.. expanded.Select(BulkItem.Of)]);
        foreach (var (index, outcome) in plan.Refused)
        {
            var combination = string.Join(", ", values[index].Select(v => $"{v.Key}={v.Value}"));
            var messages = outcome switch
            {
                LinkOutcome.Invalid invalid => invalid.Errors.Select(e => KeyValuePair.Create($"links[{index}].{e.Key}", e.Value)),
                LinkOutcome.Conflict conflict => [KeyValuePair.Create($"links[{index}]", new[] { conflict.Detail })],
                _ => [],
            };
            foreach (var (key, message) in messages)
            {
                errors[key] = [.. message.Select(m => $"{m} ({combination})")];
            }
        }

        if (errors.Count > 0)
        {
            var invalid = plan.Refused.Count();
            return TypedResults.Problem(Problems.Validation.ToProblem(
                $"{invalid} of {expanded.Count} combinations expand to invalid links; nothing was written.", errors));
        }

        var dryRun = body.DryRun ?? false;
        var outcomes = await bulk.ExecuteAsync(TernClaims.WorkspaceOf(user), plan, dryRun, cancellationToken);
        return TypedResults.Ok(ToResults(outcomes, responses, dryRun ? expanded : null));
    }

    /// <summary>
    /// Reads <c>{ "items": [...] }</c> item by item, so that an item of the wrong shape fails alone; a body that
    /// is not such an object is a 400.
    /// </summary>
    private static async Task<(IReadOnlyList<BulkItem>? Items, ProblemHttpResult? Problem)> ReadJsonItemsAsync(
        Stream body, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(body, default, cancellationToken);
        }
        catch (JsonException exception)
        {
            return (null, Problems.Result(Problems.MalformedRequest, JsonBindingErrors.Detail(exception)));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, Problems.Result(Problems.MalformedRequest, "The body must be a JSON object: { \"items\": [ ...link bodies... ] }."));
            }

            JsonElement? array = null;
            foreach (var property in root.EnumerateObject())
            {
                if (!property.NameEquals("items") && !string.Equals(property.Name, "items", StringComparison.OrdinalIgnoreCase))
                {
                    return (null, Problems.Result(Problems.MalformedRequest, $"The body has an unknown property '{property.Name}'; it takes only items."));
                }

                array = property.Value;
            }

            if (array is not { ValueKind: JsonValueKind.Array } items)
            {
                return (null, Problems.ValidationResult(new Dictionary<string, string[]>
                {
                    ["items"] = [$"items is required: an array of 1 to {BulkLinkService.MaxItems} link bodies."],
                }));
            }

            var result = new List<BulkItem>(items.GetArrayLength());
            foreach (var element in items.EnumerateArray())
            {
                try
                {
                    result.Add(element.Deserialize((JsonTypeInfo<CreateLinkRequest>)json.GetTypeInfo(typeof(CreateLinkRequest))) is { } request
                        ? BulkItem.Of(request)
                        : BulkItem.Reject(new LinkOutcome.Malformed("The item is null; it must be a link body.")));
                }
                catch (JsonException exception)
                {
                    var (field, message) = JsonBindingErrors.Describe(exception);
                    result.Add(JsonBindingErrors.IsValidation(exception) && field is not null
                        ? BulkItem.Reject(new LinkOutcome.Invalid(new() { [field] = [message] }))
                        : BulkItem.Reject(new LinkOutcome.Malformed("The item is not a valid link body: " + JsonBindingErrors.Detail(exception),
                            field is null ? null : new() { [field] = [message] })));
                }
            }

            return (result, null);
        }
    }

    internal static BulkCreateResponse ToResults(IReadOnlyList<LinkOutcome> outcomes, LinkResponses responses, IReadOnlyList<CreateLinkRequest>? expanded) =>
        new([.. outcomes.Select((outcome, index) => (outcome switch
        {
            LinkOutcome.Created created => new BulkItemResult { Index = index, Status = "created", Link = responses.From(created.Link) },
            LinkOutcome.Existing existing => new BulkItemResult { Index = index, Status = "existing", Link = responses.From(existing.Link) },
            LinkOutcome.WouldCreate => new BulkItemResult { Index = index, Status = "created" },
            LinkOutcome.WouldExist => new BulkItemResult { Index = index, Status = "existing" },
            _ => new BulkItemResult { Index = index, Status = "error", Error = ToItemProblem(outcome) },
        }) with { Expanded = expanded?[index] })]);

    private static ItemProblem ToItemProblem(LinkOutcome outcome)
    {
        var (kind, detail, errors) = outcome switch
        {
            LinkOutcome.Invalid invalid => (Problems.Validation,
                invalid.Errors.Count == 1 ? invalid.Errors.First().Value[0] : $"{invalid.Errors.Count} fields are invalid.", invalid.Errors),
            LinkOutcome.Conflict conflict => (conflict.Kind, conflict.Detail, null),
            LinkOutcome.Malformed malformed => (Problems.MalformedRequest, malformed.Detail, malformed.Errors),
            _ => (Problems.Internal, Problems.Internal.Description, (Dictionary<string, string[]>?)null),
        };
        return new ItemProblem { Type = kind.Type, Title = kind.Title, Status = kind.Status, Detail = detail, Errors = errors };
    }

    /// <summary>JSON, or CSV (<c>index,status,id,slug,shortUrl,error</c>) when the caller accepts text/csv and not JSON first.</summary>
    private static IResult Answer(HttpRequest request, BulkCreateResponse response) =>
        WantsCsv(request)
            ? TypedResults.Text(LinkCsv.Results(response.Results), "text/csv; charset=utf-8")
            : TypedResults.Ok(response);

    /// <summary>True when the Accept header names text/csv ahead of (or without) any JSON type.</summary>
    public static bool WantsCsv(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        var best = accept.Where(a => a.Quality is null or > 0).OrderByDescending(a => a.Quality ?? 1).FirstOrDefault(a =>
            a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)
            || a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || a.MediaType.Equals("application/problem+json", StringComparison.OrdinalIgnoreCase));
        return best is not null && best.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase);
    }
}
