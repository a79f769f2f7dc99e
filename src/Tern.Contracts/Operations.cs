namespace Tern.Contracts;

/// <summary>An online backup of the embedded database, written beside it.</summary>
public sealed record BackupResponse
{
    /// <summary>The backup file on the server, under the data folder's <c>backups/</c>.</summary>
    public required string Path { get; init; }
    public required long Bytes { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
}
