using System.ComponentModel.DataAnnotations;

namespace Tern.Server.Dashboard;

/// <summary>Settings of the web dashboard (<c>Tern:Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    public const string Section = "Tern:Dashboard";

    /// <summary>False serves no dashboard: <c>/dashboard</c> answers 404, for nodes that serve only the API and redirects.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often a signed-in session checks that its API key is still active; a revoked key is signed out within this.</summary>
    [Range(1, 60)]
    public int SessionCheckSeconds { get; set; } = 30;

    /// <summary>How often a link's page asks for new clicks, in seconds.</summary>
    [Range(1, 60)]
    public int RefreshSeconds { get; set; } = 5;
}
