using System.Security.Cryptography;
using System.Text;
using Dapper;
using Tern.Server.Access;
using Tern.Server.Storage;

namespace Tern.Server.Hosting;

/// <summary>
/// The <c>Idempotency-Key</c> header on any authenticated POST: the first request with a key runs and its
/// response is stored; the same key with the same method, path and body within 24 hours replays that response
/// with <c>Idempotent-Replayed: true</c>; the same key with another request answers 422. The key is claimed by
/// an insert before the request runs, so concurrent duplicates wait for the first one's answer instead of
/// running twice. Responses that say nothing happened (429, 5xx) are not stored, so a retry runs again.
/// </summary>
public sealed class IdempotencyKeys(Database database, TimeProvider timeProvider, IProblemDetailsService problems)
{
    public const string Header = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private static readonly TimeSpan WaitForFirst = TimeSpan.FromSeconds(10);

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var key = context.Request.Headers[Header].ToString();
        var workspaceId = context.User.FindFirst(TernClaims.WorkspaceId)?.Value;
        if (key.Length == 0 || !HttpMethods.IsPost(context.Request.Method) || workspaceId is null)
        {
            await next(context);
            return;
        }

        if (key.Length > 255 || key.Any(c => c is < '!' or > '~'))
        {
            await WriteProblemAsync(context, Problems.MalformedRequest,
                "Idempotency-Key must be 1 to 255 visible ASCII characters, such as a UUID.");
            return;
        }

        var requestHash = await HashRequestAsync(context.Request);
        var deadline = timeProvider.GetUtcNow() + WaitForFirst;
        while (true)
        {
            if (await TryClaimAsync(workspaceId, key, requestHash, context.RequestAborted))
            {
                await RunAndStoreAsync(context, next, workspaceId, key);
                return;
            }

            var stored = await FindAsync(workspaceId, key, context.RequestAborted);
            if (stored is null)
            {
                continue; // expired and removed between our insert and read: claim again
            }

            if (stored.RequestHash != requestHash)
            {
                await WriteProblemAsync(context, Problems.IdempotencyKeyReused,
                    $"The Idempotency-Key '{key}' was first used with a different request.");
                return;
            }

            if (stored.StatusCode is { } status)
            {
                await ReplayAsync(context, stored, status);
                return;
            }

            if (timeProvider.GetUtcNow() > deadline)
            {
                await WriteProblemAsync(context, Problems.IdempotencyKeyInUse,
                    $"The first request with Idempotency-Key '{key}' has not finished yet.");
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25), timeProvider, context.RequestAborted);
        }
    }

    /// <summary>Deletes records older than the lifetime; run periodically.</summary>
    public Task<int> PurgeExpiredAsync(CancellationToken cancellationToken) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM idempotency_keys WHERE created_at < @cutoff",
            new { cutoff = (timeProvider.GetUtcNow() - Lifetime).ToUnixTimeMilliseconds() }, transaction,
            cancellationToken: cancellationToken)), cancellationToken);

    private async Task RunAndStoreAsync(HttpContext context, RequestDelegate next, string workspaceId, string key)
    {
        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        catch
        {
            await ReleaseAsync(workspaceId, key);
            throw;
        }
        finally
        {
            context.Response.Body = original;
        }

        var response = context.Response;
        if (response.StatusCode is 429 or >= 500)
        {
            await ReleaseAsync(workspaceId, key);
        }
        else
        {
            await database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE idempotency_keys SET status_code = @status, content_type = @contentType, location = @location, body = @body
                WHERE workspace_id = @workspaceId AND key = @key
                """,
                new
                {
                    status = response.StatusCode,
                    contentType = response.ContentType,
                    location = response.Headers.Location.ToString() is { Length: > 0 } l ? l : null,
                    body = StoredBody(context, buffer.ToArray()),
                    workspaceId,
                    key,
                },
                transaction)), CancellationToken.None);
        }

        buffer.Position = 0;
        await buffer.CopyToAsync(original, context.RequestAborted);
    }

    /// <summary>The body as kept for replays: with the secret a call minted taken out, when it marked one.</summary>
    private static byte[] StoredBody(HttpContext context, byte[] body)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<WithholdOnReplay>()?.Field is not { } field || body.Length == 0)
        {
            return body;
        }

        try
        {
            if (System.Text.Json.Nodes.JsonNode.Parse(body) is System.Text.Json.Nodes.JsonObject json)
            {
                json[field] = null;
                json["secretWithheld"] = true;
                return Encoding.UTF8.GetBytes(json.ToJsonString());
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return []; // not the JSON expected: keep nothing rather than risk keeping a secret
    }

    private async Task<bool> TryClaimAsync(string workspaceId, string key, string requestHash, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM idempotency_keys WHERE workspace_id = @workspaceId AND key = @key AND created_at < @cutoff",
                new { workspaceId, key, cutoff = (now - Lifetime).ToUnixTimeMilliseconds() }, transaction,
                cancellationToken: cancellationToken));
            return await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO idempotency_keys (workspace_id, key, request_hash, created_at)
                VALUES (@workspaceId, @key, @requestHash, @now) ON CONFLICT DO NOTHING
                """,
                new { workspaceId, key, requestHash, now = now.ToUnixTimeMilliseconds() }, transaction,
                cancellationToken: cancellationToken)) == 1;
        }, cancellationToken);
    }

    private async Task<StoredResponse?> FindAsync(string workspaceId, string key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<StoredResponse>(new CommandDefinition(
            """
            SELECT request_hash, status_code, content_type, location, body
            FROM idempotency_keys WHERE workspace_id = @workspaceId AND key = @key
            """, new { workspaceId, key }, cancellationToken: cancellationToken));
    }

    private Task ReleaseAsync(string workspaceId, string key) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM idempotency_keys WHERE workspace_id = @workspaceId AND key = @key AND status_code IS NULL",
            new { workspaceId, key }, transaction)), CancellationToken.None);

    private static async Task ReplayAsync(HttpContext context, StoredResponse stored, int status)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers[ReplayedHeader] = "true";
        if (stored.ContentType is not null)
        {
            response.ContentType = stored.ContentType;
        }

        if (stored.Location is not null)
        {
            response.Headers.Location = stored.Location;
        }

        if (stored.Body is { Length: > 0 } body)
        {
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, context.RequestAborted);
        }
    }

    private static async Task<string> HashRequestAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            hash.AppendData(chunk, 0, read);
        }

        request.Body.Position = 0;
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private Task WriteProblemAsync(HttpContext context, ProblemKind kind, string detail)
    {
        context.Response.StatusCode = kind.Status;
        return problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = kind.ToProblem(detail) }).AsTask();
    }

    private sealed class StoredResponse
    {
        public string RequestHash { get; set; } = "";
        public int? StatusCode { get; set; }
        public string? ContentType { get; set; }
        public string? Location { get; set; }
        public byte[]? Body { get; set; }
    }
}

/// <summary>
/// Endpoint metadata: the answer carries a secret in the JSON field <see cref="Field"/>. The copy kept for replays has that
/// field null and <c>secretWithheld: true</c>, so no secret ever rests in the idempotency table.
/// </summary>
public sealed record WithholdOnReplay(string Field);
