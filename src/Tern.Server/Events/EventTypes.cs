namespace Tern.Server.Events;

public static class EventTypes
{
    public const string LinkCreated = "link.created";
    public const string LinkUpdated = "link.updated";
    public const string LinkDeleted = "link.deleted";
    public const string LinkExpired = "link.expired";
    public const string LinkClicked = "link.clicked";

    /// <summary>Sent only by <c>POST /webhooks/{id}/test</c>; never stored in the event log.</summary>
    public const string WebhookTest = "webhook.test";

    public static IReadOnlyList<string> All { get; } = [LinkCreated, LinkUpdated, LinkDeleted, LinkExpired, LinkClicked];
}
