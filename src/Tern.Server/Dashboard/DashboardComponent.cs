using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tern.Server.Access;

namespace Tern.Server.Dashboard;

/// <summary>
/// What every dashboard page knows: the request (pages render once per request on the server), the signed-in key's
/// claims, and how to read an API handler's answer, since pages call the same handlers and services as the API.
/// </summary>
public abstract class DashboardComponent : ComponentBase
{
    [CascadingParameter] public HttpContext HttpContext { get; set; } = default!;

    [Inject] public IServiceProvider Services { get; set; } = default!;

    [Inject] public NavigationManager Navigation { get; set; } = default!;

    protected ClaimsPrincipal User => HttpContext.User;

    protected string WorkspaceId => TernClaims.WorkspaceOf(User);

    protected CancellationToken Aborted => HttpContext.RequestAborted;

    protected bool Can(string scope) => DashboardSession.Has(User, scope);

    protected T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>Answers a post the key's scopes do not allow: 403, and the page says why.</summary>
    protected bool Refuse(string scope)
    {
        if (Can(scope))
        {
            return false;
        }

        HttpContext.Response.StatusCode = StatusCodes.Status403Forbidden;
        return true;
    }

    protected static T? ValueOf<T>(IResult result) where T : class =>
        (result is INestedHttpResult nested ? nested.Result : result) is IValueHttpResult<T> value ? value.Value : null;

    protected static ProblemDetails? ProblemOf(IResult result) =>
        ((result is INestedHttpResult nested ? nested.Result : result) as ProblemHttpResult)?.ProblemDetails;

    protected static string Count(long n, string one, string many) =>
        n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " " + (n == 1 ? one : many);

    protected static string When(DateTimeOffset? at) =>
        at is { } value ? value.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "—";
}
