using System.Data.Common;
using Tern.Contracts;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Links;

/// <summary>One item of a bulk create: a request to validate, or an answer already given (an item that could not be read).</summary>
public readonly record struct BulkItem(CreateLinkRequest? Request, LinkOutcome? Rejected)
{
    public static BulkItem Of(CreateLinkRequest request) => new(request, null);

    public static BulkItem Reject(LinkOutcome outcome) => new(null, outcome);
}

/// <summary>
/// A validated batch, before anything is written: each item has a definition to write, an answer already
/// (invalid, or a clash with an earlier item), or is a repeat of an earlier identical item.
/// </summary>
public sealed class BulkPlan
{
    internal BulkPlan(int count)
    {
        Definitions = new LinkDefinition?[count];
        Outcomes = new LinkOutcome?[count];
        RepeatOf = new int[count];
        Array.Fill(RepeatOf, -1);
    }

    internal LinkDefinition?[] Definitions { get; }
    internal LinkOutcome?[] Outcomes { get; }
    internal int[] RepeatOf { get; }

    /// <summary>The items already refused before writing, by index.</summary>
    public IEnumerable<(int Index, LinkOutcome Outcome)> Refused =>
        Outcomes.Select((outcome, index) => (index, outcome)).Where(p => p.outcome is not null)!;
}

/// <summary>What a bulk change came to: how many links it changed, or why it changed none.</summary>
public abstract record BulkChange
{
    public sealed record Done(int Changed, int Matched) : BulkChange;
    public sealed record Refused(LinkOutcome Reason) : BulkChange;
}

/// <summary>
/// Bulk creates, updates and deletes. A batch is written in a few transactions (one per <see cref="ChunkSize"/>
/// items) with multi-row statements; each link's event goes into the same transaction, so a batch costs a
/// handful of round trips rather than several per link. The per-link rules are <see cref="LinkService"/>'s:
/// the same validation, the same answer to a repeated create, the same PATCH semantics.
/// </summary>
public sealed class BulkLinkService(
    Database database, LinkStore store, LinkValidator validator, LinkService links, IEnumerable<ILinkChangeObserver> observers,
    LinkEvents outbox, TimeProvider timeProvider)
{
    private readonly LinkChanges _changes = new(observers, outbox);

    public const int MaxItems = 1000;
    public const int MaxIds = 1000;

    /// <summary>Items written per transaction.</summary>
    public const int ChunkSize = 500;

    /// <summary>Links read and changed per step of a bulk update (all steps share one transaction) or delete (one each).</summary>
    private const int PageSize = 500;

    /// <summary>Most links one bulk update changes: it is one transaction, so that it changes all or nothing.</summary>
    public const int MaxUpdated = 10_000;

    private const int MaxAttempts = 8;

    /// <summary>
    /// Validates every item and settles clashes inside the batch: a later item with the slug (on the same domain)
    /// or the externalId of an earlier one is a repeat when it defines the same link, else a 409 conflict.
    /// </summary>
    public BulkPlan Plan(IReadOnlyList<BulkItem> items)
    {
        var plan = new BulkPlan(items.Count);
        var bySlug = new Dictionary<(string Domain, string Slug), int>();
        var byExternalId = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Rejected is { } rejected)
            {
                plan.Outcomes[i] = rejected;
                continue;
            }

            var errors = new Dictionary<string, string[]>();
            if (validator.Validate(items[i].Request!, errors) is not { } definition)
            {
                plan.Outcomes[i] = new LinkOutcome.Invalid(errors);
                continue;
            }

            var (earlier, what) = definition.Slug is { } slug && bySlug.TryGetValue((definition.Domain, slug), out var j)
                ? (j, $"the slug {definition.Domain}/{slug}")
                : definition.ExternalId is { } externalId && byExternalId.TryGetValue(externalId, out j)
                    ? (j, $"the externalId '{externalId}'")
                    : (-1, "");
            if (earlier < 0)
            {
                plan.Definitions[i] = definition;
                if (definition.Slug is not null)
                {
                    bySlug.TryAdd((definition.Domain, definition.Slug), i);
                }

                if (definition.ExternalId is not null)
                {
                    byExternalId.TryAdd(definition.ExternalId, i);
                }
            }
            else if (plan.Definitions[earlier]!.SameAs(definition))
            {
                plan.RepeatOf[i] = earlier;
            }
            else
            {
                plan.Outcomes[i] = new LinkOutcome.Conflict(Problems.LinkConflict,
                    $"Item {earlier} of this batch defines {what} differently.");
            }
        }

        return plan;
    }

    /// <summary>Writes the plan (or, in a dry run, says what writing it would do); one outcome per item, in order.</summary>
    public async Task<IReadOnlyList<LinkOutcome>> ExecuteAsync(string workspaceId, BulkPlan plan, bool dryRun, CancellationToken cancellationToken)
    {
        var pending = Enumerable.Range(0, plan.Definitions.Length).Where(i => plan.Definitions[i] is not null).ToList();
        if (dryRun)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            await ExplainAsync(connection, null, workspaceId, plan, [.. pending.Select(i => (i, Slug: plan.Definitions[i]!.Slug ?? ""))],
                cancellationToken);
            foreach (var i in pending)
            {
                plan.Outcomes[i] ??= new LinkOutcome.WouldCreate();
            }
        }
        else
        {
            foreach (var chunk in pending.Chunk(ChunkSize))
            {
                await WriteChunkAsync(workspaceId, plan, chunk, cancellationToken);
            }
        }

        var outcomes = new LinkOutcome[plan.Outcomes.Length];
        for (var i = 0; i < outcomes.Length; i++)
        {
            // A repeated item answers as a repeated call would: the link the earlier item created now exists.
            outcomes[i] = plan.RepeatOf[i] is var earlier and >= 0
                ? plan.Outcomes[earlier] switch
                {
                    LinkOutcome.Created created => new LinkOutcome.Existing(created.Link),
                    LinkOutcome.WouldCreate => new LinkOutcome.WouldExist(),
                    var other => other!,
                }
                : plan.Outcomes[i]!;
        }

        return outcomes;
    }

    private async Task WriteChunkAsync(string workspaceId, BulkPlan plan, int[] chunk, CancellationToken cancellationToken)
    {
        var created = await database.WriteAsync(async (connection, transaction) =>
        {
            var created = new List<Link>(chunk.Length);
            IReadOnlyList<int> todo = chunk;
            for (var attempt = 0; attempt < MaxAttempts && todo.Count > 0; attempt++)
            {
                var now = Link.Now(timeProvider);
                var candidates = todo.Select(i => plan.Definitions[i]!.ToLink(Ids.New("lnk", now.ToUnixTimeMilliseconds()), workspaceId,
                    // After a few random collisions (astronomically rare at 62^7) the slug grows a character.
                    plan.Definitions[i]!.Slug ?? SlugRules.Random(SlugRules.RandomLength + attempt / 3), now)).ToList();
                // Ids follow the request order; rows go in by externalId, then by chosen slug, so that concurrent batches
                // sharing either take their unique-index locks in one order on PostgreSQL rather than deadlocking (a
                // random slug differs between runs of a batch, so it cannot set the order).
                var inserted = await LinkStore.TryInsertManyAsync(connection, transaction,
                    [.. candidates.Select((link, k) => (Link: link, Definition: plan.Definitions[todo[k]]!))
                        .OrderBy(c => c.Definition.ExternalId ?? "", StringComparer.Ordinal)
                        .ThenBy(c => c.Link.Domain, StringComparer.Ordinal)
                        .ThenBy(c => c.Definition.Slug ?? "", StringComparer.Ordinal)
                        .Select(c => c.Link)], cancellationToken);
                var missed = new List<(int Index, string Slug)>();
                for (var k = 0; k < candidates.Count; k++)
                {
                    if (inserted.Contains(candidates[k].Id))
                    {
                        plan.Outcomes[todo[k]] = new LinkOutcome.Created(candidates[k]);
                        created.Add(candidates[k]);
                    }
                    else
                    {
                        missed.Add((todo[k], candidates[k].Slug));
                    }
                }

                todo = await ExplainAsync(connection, transaction, workspaceId, plan, missed, cancellationToken);
            }

            foreach (var i in todo)
            {
                plan.Outcomes[i] = new LinkOutcome.Conflict(Problems.SlugTaken, "No free random slug was found; retry the item.");
            }

            await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkCreated, created, cancellationToken);
            return created;
        }, cancellationToken);

        _changes.Created(created);
    }

    /// <summary>
    /// Answers the items whose slug or externalId is in the way, reading the links in the way in two queries;
    /// returns the items to try again (a random slug that collided).
    /// </summary>
    private async Task<IReadOnlyList<int>> ExplainAsync(
        DbConnection connection, DbTransaction? transaction, string workspaceId, BulkPlan plan, List<(int Index, string Slug)> items,
        CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return [];
        }

        var externalIds = items.Select(m => plan.Definitions[m.Index]!.ExternalId).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var byExternalId = (await store.FindByExternalIdsAsync(connection, transaction, workspaceId, externalIds, cancellationToken))
            .ToDictionary(l => l.ExternalId!, StringComparer.Ordinal);
        var slugs = items.Where(m => plan.Definitions[m.Index]!.Slug is not null).Select(m => m.Slug).ToHashSet(StringComparer.Ordinal);
        var bySlug = (await store.FindBySlugsAsync(connection, transaction, slugs, cancellationToken)).ToDictionary(l => (l.Domain, l.Slug));
        var retry = new List<int>();
        foreach (var (index, slug) in items)
        {
            var definition = plan.Definitions[index]!;
            var outcome = LinkService.ExplainConflict(workspaceId, definition, slug,
                definition.ExternalId is { } externalId ? byExternalId.GetValueOrDefault(externalId) : null,
                bySlug.GetValueOrDefault((definition.Domain, slug)));
            if (outcome is null)
            {
                retry.Add(index);
            }
            else
            {
                plan.Outcomes[index] = outcome;
            }
        }

        return retry;
    }

    /// <summary>
    /// Applies <paramref name="set"/> (PATCH semantics) to every link the filter selects, in one transaction: if
    /// any link would become invalid, or a change clashes with another link, nothing changes.
    /// </summary>
    public async Task<BulkChange> UpdateAsync(string workspaceId, BulkFilter? filter, UpdateLinkRequest? set, CancellationToken cancellationToken)
    {
        var errors = CheckFilter(filter);
        CheckSet(set, errors);
        if (errors.Count > 0)
        {
            return new BulkChange.Refused(new LinkOutcome.Invalid(errors));
        }

        var changes = new List<(Link Before, Link After)>();
        var matched = 0;
        try
        {
            await database.WriteAsync(async (connection, transaction) =>
            {
                await ForEachPageAsync(connection, transaction, workspaceId, filter!, async page =>
                {
                    matched += page.Count;
                    if (matched > MaxUpdated)
                    {
                        throw new BulkRefusal(new LinkOutcome.Conflict(Problems.BatchTooLarge,
                            $"The filter selects more than {MaxUpdated} links; a bulk update changes at most {MaxUpdated} in one call, " +
                            "all or none. Nothing was changed; select fewer links (filter.ids, or a narrower tag)."));
                    }

                    var now = Link.Now(timeProvider);
                    var changed = new List<Link>();
                    foreach (var existing in page)
                    {
                        var linkErrors = new Dictionary<string, string[]>();
                        var updated = links.Patch(existing, set!, linkErrors)
                            ?? throw new BulkRefusal(new LinkOutcome.Invalid(linkErrors.ToDictionary(
                                e => "set." + e.Key, e => e.Value.Select(m => $"{m} (link {existing.Id})").ToArray())));
                        if (updated.SameDefinitionAs(existing))
                        {
                            continue;
                        }

                        updated = updated with { UpdatedAt = now };
                        var expiryChanged = updated.ExpiresAt != existing.ExpiresAt || updated.MaxClicks != existing.MaxClicks;
                        await store.UpdateAsync(connection, transaction, updated, expiryChanged, cancellationToken);
                        changes.Add((existing, updated));
                        changed.Add(updated);
                    }

                    await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkUpdated, changed, cancellationToken);
                    return page.Count;
                }, cancellationToken);
                return true;
            }, cancellationToken);
        }
        catch (BulkRefusal refusal)
        {
            return new BulkChange.Refused(refusal.Outcome);
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return new BulkChange.Refused(new LinkOutcome.Conflict(Problems.SlugTaken,
                "A changed link would take a slug already used on its new domain; nothing was changed."));
        }

        _changes.Changed(changes);
        return new BulkChange.Done(changes.Count, matched);
    }

    /// <summary>
    /// Deletes every link the filter selects, each with its link.deleted event, one transaction per
    /// <see cref="PageSize"/> links: a tag on a million links never holds the writer for long, and a call cut short
    /// leaves only whole pages deleted, so running it again finishes the job.
    /// </summary>
    public async Task<BulkChange> DeleteAsync(string workspaceId, BulkFilter? filter, CancellationToken cancellationToken)
    {
        var errors = CheckFilter(filter);
        if (errors.Count > 0)
        {
            return new BulkChange.Refused(new LinkOutcome.Invalid(errors));
        }

        var total = 0;
        string? after = null;
        while (true)
        {
            var (page, gone) = await database.WriteAsync(async (connection, transaction) =>
            {
                var page = await store.FindSelectedAsync(connection, transaction, workspaceId, filter!.Ids, filter.Tag, after, PageSize, cancellationToken);
                IReadOnlyList<Link> gone = page.Count == 0
                    ? []
                    : await store.DeleteManyAsync(connection, transaction, workspaceId, [.. page.Select(l => l.Id)], cancellationToken);
                await outbox.AppendManyAsync(connection, transaction, EventTypes.LinkDeleted, gone, cancellationToken);
                return (page, gone);
            }, cancellationToken);

            _changes.Deleted(gone);
            total += gone.Count;
            if (page.Count < PageSize)
            {
                return new BulkChange.Done(total, total);
            }

            after = page[^1].Id;
        }
    }

    private async Task ForEachPageAsync(
        DbConnection connection, DbTransaction transaction, string workspaceId, BulkFilter filter, Func<IReadOnlyList<Link>, Task<int>> work,
        CancellationToken cancellationToken)
    {
        string? after = null;
        while (true)
        {
            var page = await store.FindSelectedAsync(connection, transaction, workspaceId, filter.Ids, filter.Tag, after, PageSize, cancellationToken);
            if (page.Count == 0)
            {
                return;
            }

            await work(page);
            if (page.Count < PageSize)
            {
                return;
            }

            after = page[^1].Id;
        }
    }

    /// <summary>A filter must name ids or a tag, so that no call changes a whole workspace by accident.</summary>
    private static Dictionary<string, string[]> CheckFilter(BulkFilter? filter)
    {
        var errors = new Dictionary<string, string[]>();
        if (filter is null || (filter.Ids is null && filter.Tag is null))
        {
            errors["filter"] = ["filter must name ids or a tag; a bulk change never selects a whole workspace."];
        }
        else
        {
            if (filter.Ids is { Count: > MaxIds })
            {
                errors["filter.ids"] = [$"filter.ids holds {filter.Ids.Count} ids; at most {MaxIds} per call."];
            }
            else if (filter.Ids is not null && filter.Ids.Any(string.IsNullOrEmpty))
            {
                errors["filter.ids"] = ["filter.ids must hold link ids, not empty values."];
            }

            if (filter.Tag is { Length: 0 })
            {
                errors["filter.tag"] = ["filter.tag must not be empty."];
            }
        }

        return errors;
    }

    /// <summary>Slug and externalId are unique per link, so a bulk change may clear an externalId but not give one.</summary>
    private static void CheckSet(UpdateLinkRequest? set, Dictionary<string, string[]> errors)
    {
        if (set is null || set == new UpdateLinkRequest())
        {
            errors["set"] = ["set must name at least one field to change."];
            return;
        }

        if (set.Slug.IsSet)
        {
            errors["set.slug"] = ["slug is unique per link; change it with PATCH /api/v1/links/{id}."];
        }

        if (set.ExternalId is { IsSet: true, Value: not null })
        {
            errors["set.externalId"] = ["externalId is unique per link; a bulk change can only clear it (null)."];
        }
    }

    /// <summary>Unwinds the transaction of a bulk change that turned out invalid part-way.</summary>
    private sealed class BulkRefusal(LinkOutcome outcome) : Exception("The bulk change was refused.")
    {
        public LinkOutcome Outcome { get; } = outcome;
    }
}
