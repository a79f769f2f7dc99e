using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Access;

/// <summary>Authenticates <c>Authorization: Bearer tern_…</c> against the stored key hashes.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AccessStore store,
    FailedAuthentications failures,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private const string BlockedMessage = "Too many failed authentications from this address.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        var address = FailedAuthentications.AddressOf(Context);
        if (failures.IsBlocked(address))
        {
            return AuthenticateResult.Fail(BlockedMessage);
        }

        var key = await FindKeyAsync(header);
        if (key is null)
        {
            failures.Record(address);
            return AuthenticateResult.Fail(FailureOf(header));
        }

        var claims = new List<Claim>(key.Scopes.Count + 3)
        {
            new(TernClaims.KeyId, key.Id),
            new(TernClaims.WorkspaceId, key.WorkspaceId),
        };
        claims.AddRange(Scopes.Effective(key).Select(scope => new Claim(TernClaims.Scope, scope)));

        if (key.RateLimit is { } limit)
        {
            claims.Add(new Claim(TernClaims.RateLimit, $"{limit.PerSecond}/{limit.Burst}"));
        }

        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private Task<ApiKey?> FindKeyAsync(string header)
    {
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult<ApiKey?>(null);
        }

        var secret = header["Bearer ".Length..].Trim();
        return ApiKeySecret.IsWellFormed(secret) ? store.FindActiveKeyAsync(secret, Context.RequestAborted) : Task.FromResult<ApiKey?>(null);
    }

    private static string FailureOf(string header) =>
        !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? "The Authorization header must be 'Bearer <api key>'."
        : !ApiKeySecret.IsWellFormed(header["Bearer ".Length..].Trim()) ? "The API key is malformed; keys start with 'tern_'."
        : "The API key is unknown or has been revoked.";

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        if (failure == BlockedMessage)
        {
            var address = FailedAuthentications.AddressOf(Context);
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = failures.RetryAfterSeconds(address);
            await problemDetails.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = Context,
                ProblemDetails = Problems.RateLimited.ToProblem(
                    $"{BlockedMessage} An address may fail {failures.Burst} times in a row; retry in {Response.Headers.RetryAfter} s."),
            });
            return;
        }

        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = Problems.Unauthorized.ToProblem(failure ?? "Send Authorization: Bearer <api key>."),
        });
    }
}

/// <summary>Answers a failed scope check with a 403 problem that names the missing scope.</summary>
public sealed class ScopeAuthorizationResultHandler(IProblemDetailsService problemDetails) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden)
        {
            var missing = authorizeResult.AuthorizationFailure?.FailedRequirements
                .OfType<ClaimsAuthorizationRequirement>()
                .SelectMany(r => r.AllowedValues ?? [])
                .FirstOrDefault();
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await problemDetails.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = Problems.Forbidden.ToProblem(missing is null
                    ? "The API key may not make this call."
                    : $"The API key lacks the scope '{missing}'."),
            });
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
