using System.Collections.Frozen;
using Tern.Server.Storage;

namespace Tern.Server.Webhooks;

/// <summary>
/// By workspace, the event types that at least one of its enabled webhooks subscribes to, as this node last read them.
/// The fan-out skips reading a workspace's subscriptions for events none of them wants (a workspace whose webhooks
/// take <c>link.clicked</c> only creates links without that read); when some may want them it reads the subscriptions
/// in its transaction as before, so what is known only narrows what is read, never what is delivered. Every change of a
/// webhook clears it: on this node inside the changing transaction and again after it, on the others when the
/// <c>webhooks</c> trigger's <c>NOTIFY tern_webhooks</c> (migration 0018) arrives.
/// </summary>
public sealed class SubscribedEventTypes(TimeProvider timeProvider) : ChangeClearedCache<FrozenSet<string>>(timeProvider, Lifetime, Capacity)
{
    /// <summary>How long an entry serves at most.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>More workspaces than this and the cache starts again empty.</summary>
    public const int Capacity = 10_000;

    public override string Channel => "tern_webhooks";
}
