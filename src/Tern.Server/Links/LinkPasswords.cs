using Microsoft.AspNetCore.Identity;

namespace Tern.Server.Links;

/// <summary>Visitors' passwords, hashed slowly (PBKDF2, ASP.NET Core's <see cref="PasswordHasher{TUser}"/>).</summary>
public static class LinkPasswords
{
    public const int MaxLength = 256;

    private static readonly PasswordHasher<Link> Hasher = new();

    public static string Hash(string password) => Hasher.HashPassword(null!, password);

    /// <summary>True when the link has a password and this is it. Slow on purpose (a hundred thousand PBKDF2 rounds).</summary>
    public static bool Verify(Link link, string password) => Verify(link.PasswordHash, password);

    public static bool Verify(string? hash, string password) =>
        hash is not null && Hasher.VerifyHashedPassword(null!, hash, password) != PasswordVerificationResult.Failed;
}
