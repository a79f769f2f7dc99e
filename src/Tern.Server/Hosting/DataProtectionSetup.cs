using Microsoft.AspNetCore.DataProtection;

namespace Tern.Server.Hosting;

/// <summary>
/// ASP.NET Core Data Protection for the whole server (webhook signing secrets at rest, and anything else that must
/// be encrypted or signed). The key ring is kept outside the database: in <c>Tern:DataProtection:KeysPath</c>, by
/// default the folder <c>keys</c> under <c>Tern:DataDir</c>. Every node of a cluster must see the same key ring
/// (a shared volume), or it cannot read what another node encrypted.
/// </summary>
public static class DataProtectionSetup
{
    public const string KeysPathKey = "Tern:DataProtection:KeysPath";

    public static void AddTernDataProtection(this WebApplicationBuilder builder)
    {
        var configured = builder.Configuration[KeysPathKey];
        var dataDir = builder.Configuration["Tern:DataDir"] is { Length: > 0 } dir ? dir : new TernOptions().DataDir;
        var keysPath = Path.GetFullPath(string.IsNullOrWhiteSpace(configured) ? Path.Combine(dataDir, "keys") : configured);
        builder.Services.AddDataProtection()
            .SetApplicationName("Tern")
            .PersistKeysToFileSystem(new DirectoryInfo(keysPath));
    }
}
