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
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <api key>'.");
        }

        var secret = header["Bearer ".Length..].Trim();
        if (!ApiKeySecret.IsWellFormed(secret))
        {
            return AuthenticateResult.Fail("The API key is malformed; keys start with 'tern_'.");
        }

        var key = await store.FindActiveKeyAsync(secret, Context.RequestAborted);
        if (key is null)
        {
            return AuthenticateResult.Fail("The API key is unknown or has been revoked.");
        }

        var claims = new List<Claim>(key.Scopes.Count + 2)
        {
            new(TernClaims.KeyId, key.Id),
            new(TernClaims.WorkspaceId, key.WorkspaceId),
        };
        claims.AddRange(key.Scopes.Select(scope => new Claim(TernClaims.Scope, scope)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
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
