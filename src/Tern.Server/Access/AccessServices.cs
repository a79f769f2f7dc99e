using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Access;

public static class AccessServices
{
    /// <summary>Workspaces and API keys, authentication by key, one policy per scope, and the per-key rate limit.</summary>
    public static IServiceCollection AddAccess(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AccessStore>();
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<IChangeClearedCache>(sp => sp.GetRequiredService<ApiKeyCache>());
        services.AddHostedService<AccessBootstrap>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(options =>
        {
            foreach (var scope in Scopes.All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim(TernClaims.Scope, scope));
            }
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ScopeAuthorizationResultHandler>();
        services.AddSingleton<ApiRateLimiter>();
        services.AddSingleton<FailedAuthentications>();
        return services;
    }
}
