using Tern.Server.Links;
using Tern.Server.Redirect;

namespace Tern.Server.Tests.Redirect;

/// <summary>Links made in memory for the cache's own tests, which need no storage.</summary>
internal static class TestLinks
{
    public static Link Link(string id = "lnk_01JDQ7X1R5ZK3M8V0W2C4B6N9P", string slug = "s", string url = "https://example.com/a") => new()
    {
        Id = id,
        WorkspaceId = "ws_default",
        Domain = "go.test",
        Slug = slug,
        BaseUrl = url,
        Url = url,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    public static CachedLink Cached(string slug, string url = "https://example.com/a") => new(Link(slug: slug, url: url), null);
}
