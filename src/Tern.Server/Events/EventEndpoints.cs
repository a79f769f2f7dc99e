using System.Security.Claims;
using System.Text;
using Tern.Server.Access;
using Tern.Server.Hosting;

namespace Tern.Server.Events;

/// <summary>
/// <c>GET /api/v1/events</c>: the event log, newest first, or with <c>after=</c> oldest first in commit order for
/// polling integrations; <c>GET /api/v1/events/stream</c>: the same as server-sent events, as they commit.
/// </summary>
public static class EventEndpoints
{
    /// <summary>A stream with nothing to send writes a comment this often, so proxies and clients keep it open.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A stream also looks without a notice this often: on PostgreSQL an event becomes readable in commit order only
    /// once every older transaction has ended, which announces nothing when those transactions wrote no event.
    /// </summary>
    public static readonly TimeSpan LookInterval = TimeSpan.FromSeconds(1);

    private const int StreamPage = 500;

    public static void MapEvents(this RouteGroupBuilder api)
    {
        var events = api.MapGroup("/events").WithTags("Events").RequireAuthorization(Scopes.WebhooksRead);
        events.MapGet("", ListEvents).WithName("ListEvents")
            .WithSummary("List events: newest first, or with after= the events committed after that one, oldest first")
            .Produces<Tern.Contracts.ListResponse<Tern.Contracts.EventEnvelope>>();
        events.MapGet("/stream", StreamEvents).WithName("StreamEvents")
            .WithSummary("Server-sent events of the workspace's events as they commit, resumable with Last-Event-ID")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .DisableRequestTimeout();
    }

    public static async Task<IResult> ListEvents(
        ClaimsPrincipal user, EventLog log, CancellationToken cancellationToken,
        string? type = null, string? limit = null, string? cursor = null, string? after = null, string? includeBots = null)
    {
        var errors = new Dictionary<string, string[]>();
        var pageSize = Paging.Parse(limit, cursor, "evt", errors);
        var filter = ParseFilter(type, after, includeBots, errors);
        if (cursor is not null && after is not null)
        {
            errors["after"] = ["after and cursor cannot be combined: after pages forward (oldest first), cursor backward (newest first)."];
        }

        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var workspace = TernClaims.WorkspaceOf(user);
        var ids = new List<string>(pageSize);
        var json = new StringBuilder("{\"items\":[");
        if (after is not null)
        {
            foreach (var row in await log.ListAfterAsync(workspace, type, filter.IncludeBots, after, pageSize, cancellationToken))
            {
                Append(row.Id, row.Payload);
            }
        }
        else
        {
            foreach (var row in await log.ListAsync(workspace, type, filter.IncludeBots, cursor, pageSize + 1, cancellationToken))
            {
                Append(row.Id, row.Payload);
            }
        }

        // Payloads are stored as the exact JSON that was (or will be) delivered; the page embeds them unchanged. Newest
        // first, nextCursor is the cursor= of the next (older) page; with after= it is the after= of the next page.
        string? next = after is not null
            ? (ids.Count == pageSize ? ids[^1] : null)
            : (ids.Count > pageSize ? ids[pageSize - 1] : null);
        json.Append("],\"nextCursor\":").Append(next is null ? "null" : $"\"{next}\"").Append('}');
        return TypedResults.Text(json.ToString(), "application/json; charset=utf-8");

        void Append(string id, string payload)
        {
            if (ids.Count < pageSize)
            {
                json.Append(ids.Count == 0 ? "" : ",").Append(payload);
            }

            ids.Add(id);
        }
    }

    // Writes each committed event of the workspace as one server-sent event (id the event id, event its type, data the
    // webhook payload), from the one after Last-Event-ID (or after=) or else from now on, until the client goes. It
    // reads the log in commit order, woken by EventNotices, so every node streams every node's events and a resumed
    // stream neither misses nor repeats one. (A plain comment: a doc comment would replace the document's summary.)
    public static async Task<IResult> StreamEvents(
        HttpContext context, ClaimsPrincipal user, EventLog log, EventNotices notices, TimeProvider timeProvider,
        string? type = null, string? after = null, string? includeBots = null)
    {
        var errors = new Dictionary<string, string[]>();
        var resume = context.Request.Headers["Last-Event-ID"].ToString();
        if (resume.Length > 0)
        {
            if (Ids.IsWellFormed(resume, "evt"))
            {
                after = resume;
            }
            else
            {
                errors["Last-Event-ID"] = ["Last-Event-ID must be the id of an event (evt_…) this stream sent."];
            }
        }

        var filter = ParseFilter(type, after, includeBots, errors);
        if (errors.Count > 0)
        {
            return Problems.ValidationResult(errors);
        }

        var workspace = TernClaims.WorkspaceOf(user);
        var cancellationToken = context.RequestAborted;
        after ??= await log.LastAsync(workspace, cancellationToken) ?? Ids.LowerBound("evt", 0);
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no"; // proxies such as nginx pass each event on at once
        return Results.Stream(body => WriteStreamAsync(body, log, notices, timeProvider, workspace, type, filter.IncludeBots, after, cancellationToken),
            "text/event-stream; charset=utf-8");
    }

    private static async Task WriteStreamAsync(
        Stream body, EventLog log, EventNotices notices, TimeProvider timeProvider,
        string workspace, string? type, bool includeBots, string after, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(body, new UTF8Encoding(false), 16 * 1024);
        await writer.WriteAsync($"retry: 2000\n: streaming events after {after}\n\n");
        await writer.FlushAsync(cancellationToken);
        var quietSince = timeProvider.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var notice = notices.Next; // taken before reading, so a commit during the read wakes the next wait
                var rows = await log.ListAfterAsync(workspace, type, includeBots, after, StreamPage, cancellationToken);
                foreach (var row in rows)
                {
                    await writer.WriteAsync($"id: {row.Id}\nevent: {row.Type}\ndata: {row.Payload}\n\n");
                    after = row.Id;
                }

                if (rows.Count > 0)
                {
                    await writer.FlushAsync(cancellationToken);
                    quietSince = timeProvider.GetTimestamp();
                    if (rows.Count == StreamPage)
                    {
                        continue;
                    }
                }
                else if (timeProvider.GetElapsedTime(quietSince) >= HeartbeatInterval)
                {
                    await writer.WriteAsync(": heartbeat\n\n");
                    await writer.FlushAsync(cancellationToken);
                    quietSince = timeProvider.GetTimestamp();
                }

                await Task.WhenAny(notice, Task.Delay(LookInterval, timeProvider, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away mid-write.
        }
    }

    private readonly record struct EventFilter(bool IncludeBots);

    /// <summary>Checks the filters shared by the list and the stream, adding a field error for each bad one.</summary>
    private static EventFilter ParseFilter(string? type, string? after, string? includeBots, Dictionary<string, string[]> errors)
    {
        if (type is not null && !EventTypes.All.Contains(type, StringComparer.Ordinal))
        {
            errors["type"] = [$"type must be one of {string.Join(", ", EventTypes.All)}."];
        }

        if (after is not null && !Ids.IsWellFormed(after, "evt"))
        {
            errors["after"] = ["after must be the id of an event (evt_…)."];
        }

        var bots = true;
        if (includeBots is not null && !bool.TryParse(includeBots, out bots))
        {
            errors["includeBots"] = ["includeBots must be true or false."];
        }

        return new EventFilter(bots);
    }
}
