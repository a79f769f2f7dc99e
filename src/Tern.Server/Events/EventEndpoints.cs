using System.Security.Claims;
using System.Text;
using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Events;

/// <summary><c>GET /api/v1/events</c>: the event log, newest first, for polling integrations.</summary>
public static class EventEndpoints
{
    public static void MapEvents(this RouteGroupBuilder api) =>
        api.MapGet("/events", ListEvents).WithTags("Events").RequireAuthorization(Scopes.WebhooksRead)
            .WithName("ListEvents").WithSummary("List events, newest first, optionally of one type")
            .Produces<Tern.Contracts.ListResponse<Tern.Contracts.EventEnvelope>>();

    public static async Task<IResult> ListEvents(
        ClaimsPrincipal user, EventLog log, CancellationToken cancellationToken,
        string? type = null, string? limit = null, string? cursor = null)
    {
        var errors = new Dictionary<string, string[]>();
        var pageSize = Paging.Parse(limit, cursor, "evt", errors);

        if (type is not null && !EventTypes.All.Contains(type, StringComparer.Ordinal))
        {
            errors["type"] = [$"type must be one of {string.Join(", ", EventTypes.All)}."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var rows = await log.ListAsync(TernClaims.WorkspaceOf(user), type, cursor, pageSize + 1, cancellationToken);

        // Payloads are stored as the exact JSON that was (or will be) delivered; the page embeds them unchanged.
        var page = rows.Take(pageSize).ToList();
        var next = rows.Count > pageSize ? page[^1].Id : null;
        var json = new StringBuilder("{\"items\":[");
        json.AppendJoin(',', page.Select(r => r.Payload));
        json.Append("],\"nextCursor\":").Append(next is null ? "null" : $"\"{next}\"").Append('}');
        return TypedResults.Text(json.ToString(), "application/json; charset=utf-8");
    }
}
