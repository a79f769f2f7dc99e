namespace Tern.Server.Hosting;

/// <summary>The list conventions: <c>?limit=</c> (default 50, max 1000) and an opaque <c>?cursor=</c>, the last id of the previous page.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    /// <summary>The page size asked for; adds a field error for a bad limit or a cursor that is not an id of this prefix.</summary>
    public static int Parse(string? limit, string? cursor, string idPrefix, Dictionary<string, string[]> errors)
    {
        var pageSize = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit}."];
        }

        if (cursor is not null && !Ids.IsWellFormed(cursor, idPrefix))
        {
            errors["cursor"] = ["cursor must be a nextCursor value from a previous page."];
        }

        return pageSize;
    }
}
