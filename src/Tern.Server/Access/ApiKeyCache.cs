using Tern.Server.Storage;

namespace Tern.Server.Access;

/// <summary>
/// The active API keys this node has read, by the hash of their secret, so that an API request needs no round trip to
/// storage to authenticate (on PostgreSQL under load, about a tenth of a link creation). Any change of a key forgets
/// them all: a revocation answers only once this node has, and the <c>api_keys</c> trigger's <c>NOTIFY tern_keys</c>
/// (migration 0017) reaches the others milliseconds later.
/// </summary>
public sealed class ApiKeyCache(TimeProvider timeProvider) : ChangeClearedCache<ApiKey>(timeProvider, Lifetime, Capacity)
{
    /// <summary>How long an entry serves at most.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>More entries than this and the cache starts again empty: keys are few.</summary>
    public const int Capacity = 10_000;

    public override string Channel => "tern_keys";
}
