using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Tern.Server.Access;

namespace Tern.Server.Dashboard;

/// <summary>
/// The dashboard's session: an encrypted cookie holding the key's id, workspace and scopes (never the secret). At most
/// once a minute the key is looked up again, so a revoked key's session ends within a minute on every node.
/// </summary>
public static class DashboardSession
{
    public const string Scheme = "Dashboard";
    private const string CheckedAt = "checked";

    public static async Task<bool> SignInAsync(HttpContext context, string secret)
    {
        if (!ApiKeySecret.IsWellFormed(secret))
        {
            return false;
        }

        var key = await context.RequestServices.GetRequiredService<AccessStore>().FindActiveKeyAsync(secret, context.RequestAborted);
        if (key is null)
        {
            return false;
        }

        var properties = new AuthenticationProperties { IsPersistent = false };
        Stamp(properties, context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow());
        await context.SignInAsync(Scheme, Principal(key), properties);
        return true;
    }

    public static bool Has(ClaimsPrincipal user, string scope) => user.HasClaim(TernClaims.Scope, scope);

    /// <summary>Whether this session may list, create and revoke its workspace's keys: the scope the keys API requires.</summary>
    public static bool CanManageKeys(ClaimsPrincipal user) => Has(user, Scopes.KeysWrite);

    public static string KeyName(ClaimsPrincipal user) => user.FindFirst(ClaimTypes.Name)?.Value ?? "";

    /// <summary>Checks the key again when the last check is older than <see cref="DashboardOptions.SessionCheckSeconds"/>, taking its current scopes.</summary>
    public static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var services = context.HttpContext.RequestServices;
        var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
        var recheckAfter = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<DashboardOptions>>().Value.SessionCheckSeconds);
        if (context.Principal is not { } user
            || !context.Properties.Items.TryGetValue(CheckedAt, out var stamp)
            || !long.TryParse(stamp, CultureInfo.InvariantCulture, out var checkedMs))
        {
            context.RejectPrincipal();
            return;
        }

        if (now - DateTimeOffset.FromUnixTimeMilliseconds(checkedMs) < recheckAfter)
        {
            return;
        }

        var store = services.GetRequiredService<AccessStore>();
        var keys = await store.ListKeysAsync(TernClaims.WorkspaceOf(user), context.HttpContext.RequestAborted);
        var key = keys.FirstOrDefault(k => k.Id == TernClaims.KeyOf(user));
        if (key is null)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
            return;
        }

        context.ReplacePrincipal(Principal(key));
        Stamp(context.Properties, now);
        context.ShouldRenew = true;
    }

    private static void Stamp(AuthenticationProperties properties, DateTimeOffset now) =>
        properties.Items[CheckedAt] = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>The same claims the API's bearer authentication gives, plus a name identifier that antiforgery tokens bind to.</summary>
    private static ClaimsPrincipal Principal(ApiKey key)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Id),
            new(ClaimTypes.Name, key.Name),
            new(TernClaims.KeyId, key.Id),
            new(TernClaims.WorkspaceId, key.WorkspaceId),
        };
        claims.AddRange(Scopes.Effective(key).Select(scope => new Claim(TernClaims.Scope, scope)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme));
    }
}
