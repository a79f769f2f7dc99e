using System.Data.Common;
using Tern.Contracts;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Storage;

namespace Tern.Server.Links;

/// <summary>What a link call came to; endpoints turn it into a status code.</summary>
public abstract record LinkOutcome
{
    public sealed record Created(Link Link) : LinkOutcome;
    public sealed record Existing(Link Link) : LinkOutcome;
    public sealed record Updated(Link Link) : LinkOutcome;
    public sealed record Invalid(Dictionary<string, string[]> Errors) : LinkOutcome;
    public sealed record Conflict(ProblemKind Kind, string Detail) : LinkOutcome;
    public sealed record NotFound(string Detail) : LinkOutcome;
    /// <summary>A dry run's answer: the link would be created.</summary>
    public sealed record WouldCreate : LinkOutcome;
    /// <summary>A dry run's answer: an earlier item of the batch would create this same link, so this one would find it.</summary>
    public sealed record WouldExist : LinkOutcome;
    /// <summary>An item of a batch that could not be read (wrong JSON type, unreadable CSV cell).</summary>
    public sealed record Malformed(string Detail, Dictionary<string, string[]>? Errors = null) : LinkOutcome;
}

/// <summary>
/// Creating, replacing, changing and deleting links. Uniqueness of slugs and externalIds is left to the
/// database's constraints (<c>INSERT … ON CONFLICT DO NOTHING</c>), so that concurrent identical creates on
/// any number of nodes yield one link; the loser reads the winner and answers as a repeated create.
/// </summary>
public sealed class LinkService(
    Database database, LinkStore store, LinkValidator validator, IEnumerable<ILinkChangeObserver> observers, LinkEvents outbox,
    TimeProvider timeProvider)
{
    private const int MaxAttempts = 8;

    private readonly LinkChanges _changes = new(observers, outbox);

    public async Task<LinkOutcome> CreateAsync(string workspaceId, CreateLinkRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var definition = validator.Validate(request, errors);
        return definition is null ? new LinkOutcome.Invalid(errors) : await CreateAsync(workspaceId, definition, cancellationToken);
    }

    private async Task<LinkOutcome> CreateAsync(string workspaceId, LinkDefinition definition, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            // After a few random collisions (astronomically rare at 62^7) the slug grows a character.
            var slug = definition.Slug ?? SlugRules.Random(SlugRules.RandomLength + attempt / 3);
            var now = Link.Now(timeProvider);
            var link = definition.ToLink(Ids.New("lnk", now.ToUnixTimeMilliseconds()), workspaceId, slug, now);
            var announcement = outbox.Prepare(EventTypes.LinkCreated, link);
            async Task<bool> InsertAsync(DbConnection connection, DbTransaction? transaction)
            {
                if (!await store.TryInsertAsync(connection, transaction, link, announcement, cancellationToken))
                {
                    return false;
                }

                if (transaction is not null)
                {
                    // The subscribers look again at the writer's turn (SQLite) or in the transaction (PostgreSQL).
                    await outbox.WrittenAsync(connection, transaction, announcement, cancellationToken);
                }

                return true;
            }

            // Where no subscriber takes the event (no webhook of the workspace takes link.created), the link, its tags
            // and its event are one statement that commits on its own; otherwise the deliveries join them in a transaction.
            var inserted = outbox.MayBeWanted(announcement)
                ? await database.WriteAsync(InsertAsync, cancellationToken)
                : await database.WriteStatementAsync(InsertAsync, cancellationToken);
            if (inserted)
            {
                _changes.Created([link]);
                return new LinkOutcome.Created(link);
            }

            await using var reader = await database.OpenAsync(cancellationToken);
            var outcome = await ExplainConflictAsync(reader, null, workspaceId, definition, slug, cancellationToken);
            if (outcome is not null)
            {
                return outcome;
            }
        }

        return new LinkOutcome.Conflict(Problems.SlugTaken, "No free random slug was found; retry the request.");
    }

    /// <summary>After an insert did nothing: which constraint was hit, and is it a repeat of the same create? Null: retry.</summary>
    private static async Task<LinkOutcome?> ExplainConflictAsync(
        DbConnection connection, DbTransaction? transaction, string workspaceId, LinkDefinition definition, string slug,
        CancellationToken cancellationToken) =>
        ExplainConflict(workspaceId, definition, slug,
            definition.ExternalId is null ? null
                : await LinkStore.FindByExternalIdAsync(connection, transaction, workspaceId, definition.ExternalId, cancellationToken),
            await LinkStore.FindBySlugAsync(connection, transaction, definition.Domain, slug, cancellationToken));

    /// <summary>
    /// The answer to a create that found <paramref name="byExternalId"/> or <paramref name="bySlug"/> in its way:
    /// the existing link when the definition matches, a conflict when it differs; null when only a random slug
    /// collided (or nothing is in the way any more), so the create should try again.
    /// </summary>
    public static LinkOutcome? ExplainConflict(
        string workspaceId, LinkDefinition definition, string slug, Link? byExternalId, Link? bySlug)
    {
        if (definition.ExternalId is not null && byExternalId is not null)
        {
            return definition.Matches(byExternalId)
                ? new LinkOutcome.Existing(byExternalId)
                : new LinkOutcome.Conflict(Problems.LinkConflict,
                    $"The link with externalId '{definition.ExternalId}' ({byExternalId.Id}) has a different definition.");
        }

        if (bySlug is null || definition.Slug is null)
        {
            return null;
        }

        if (bySlug.WorkspaceId != workspaceId)
        {
            return new LinkOutcome.Conflict(Problems.SlugTaken, $"The slug '{slug}' is not available on {definition.Domain}.");
        }

        return definition.Matches(bySlug)
            ? new LinkOutcome.Existing(bySlug)
            : new LinkOutcome.Conflict(Problems.LinkConflict,
                $"The link at {definition.Domain}/{slug} ({bySlug.Id}) has a different definition.");
    }

    /// <summary><c>PUT /links/external/{externalId}</c>: creates the link, or replaces the definition of the existing one.</summary>
    public async Task<LinkOutcome> UpsertAsync(
        string workspaceId, string externalId, CreateLinkRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.ExternalId is not null && request.ExternalId != externalId)
        {
            errors["externalId"] = ["externalId in the body must be absent or equal to the one in the path."];
        }

        var definition = validator.Validate(request with { ExternalId = externalId }, errors);
        if (definition is null || errors.Count > 0)
        {
            return new LinkOutcome.Invalid(errors);
        }

        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var existing = await FindByExternalIdAsync(workspaceId, externalId, cancellationToken);
            if (existing is null)
            {
                var created = await CreateAsync(workspaceId, definition, cancellationToken);
                if (created is LinkOutcome.Conflict && await FindByExternalIdAsync(workspaceId, externalId, cancellationToken) is not null)
                {
                    continue; // a concurrent upsert created it in the meantime: replace that one
                }

                return created;
            }

            var replacement = definition.ToLink(existing.Id, workspaceId, definition.Slug ?? existing.Slug, existing.CreatedAt) with
            {
                Domain = definition.DomainGiven ? definition.Domain : existing.Domain,
                Archived = existing.Archived,
                PasswordHash = KeptPasswordHash(existing, definition.Password),
                Clicks = existing.Clicks,
                CreatedAt = existing.CreatedAt,
                UpdatedAt = existing.UpdatedAt,
            };
            return await SaveAsync(existing, replacement, cancellationToken);
        }

        return new LinkOutcome.Conflict(Problems.LinkConflict, "The link changed concurrently too often; retry the request.");
    }

    public async Task<LinkOutcome> UpdateAsync(string workspaceId, string id, UpdateLinkRequest patch, CancellationToken cancellationToken)
    {
        var existing = await FindAsync(workspaceId, id, cancellationToken);
        if (existing is null)
        {
            return new LinkOutcome.NotFound($"No link has the id '{id}'.");
        }

        var errors = new Dictionary<string, string[]>();
        var updated = Patch(existing, patch, errors);
        return updated is null ? new LinkOutcome.Invalid(errors) : await SaveAsync(existing, updated, cancellationToken);
    }

    /// <summary>
    /// The link as <paramref name="patch"/> leaves it (absent fields stay, null clears), validated as the create
    /// request it now amounts to so that every rule applies once; null with <paramref name="errors"/> filled.
    /// The result keeps the stored <c>updatedAt</c>; whoever saves it sets the time.
    /// </summary>
    public Link? Patch(Link existing, UpdateLinkRequest patch, Dictionary<string, string[]> errors)
    {
        if (patch.Url is { IsSet: true, Value: null })
        {
            errors["url"] = ["url cannot be cleared."];
        }

        if (patch.Slug is { IsSet: true, Value: null })
        {
            errors["slug"] = ["slug cannot be cleared; give a new one."];
        }

        var merged = new CreateLinkRequest
        {
            Url = patch.Url.GetValueOr(existing.BaseUrl),
            Slug = patch.Slug.GetValueOr(existing.Slug),
            Domain = patch.Domain.GetValueOr(existing.Domain),
            Utm = patch.Utm.GetValueOr(existing.Utm),
            Tags = patch.Tags.GetValueOr(existing.Tags) ?? [],
            ExternalId = patch.ExternalId.GetValueOr(existing.ExternalId),
            Title = patch.Title.GetValueOr(existing.Title),
            ExpiresAt = patch.ExpiresAt.GetValueOr(existing.ExpiresAt),
            ExpiredUrl = patch.ExpiredUrl.GetValueOr(existing.ExpiredUrl),
            MaxClicks = patch.MaxClicks.GetValueOr(existing.MaxClicks),
            RedirectType = patch.RedirectType.GetValueOr(existing.RedirectType) ?? 302,
            ForwardQuery = patch.ForwardQuery.GetValueOr(existing.ForwardQuery) ?? true,
            StartsAt = patch.StartsAt.GetValueOr(existing.StartsAt),
            PrelaunchUrl = patch.PrelaunchUrl.GetValueOr(existing.PrelaunchUrl),
            Rules = patch.Rules.GetValueOr(existing.Rules),
            Variants = patch.Variants.GetValueOr(existing.Variants),
            Preview = patch.Preview.GetValueOr(existing.Preview),
            Password = patch.Password.IsSet ? patch.Password.Value : null,
        };
        var definition = validator.Validate(merged, errors);
        if (definition is null || errors.Count > 0)
        {
            return null;
        }

        return definition.ToLink(existing.Id, existing.WorkspaceId, definition.Slug!, existing.CreatedAt) with
        {
            Archived = patch.Archived.GetValueOr(existing.Archived) ?? false,
            PasswordHash = patch.Password.IsSet ? KeptPasswordHash(existing, definition.Password) : existing.PasswordHash,
            Clicks = existing.Clicks,
            UpdatedAt = existing.UpdatedAt,
        };
    }

    /// <summary>The stored hash when the password given is the one it holds (so repeating a definition changes nothing), else a new one.</summary>
    private static string? KeptPasswordHash(Link existing, string? password) =>
        password is null ? null : LinkPasswords.Verify(existing, password) ? existing.PasswordHash : LinkPasswords.Hash(password);

    private async Task<LinkOutcome> SaveAsync(Link existing, Link updated, CancellationToken cancellationToken)
    {
        if (updated.SameDefinitionAs(existing))
        {
            return new LinkOutcome.Updated(existing);
        }

        updated = updated with { UpdatedAt = Link.Now(timeProvider) };
        try
        {
            var expiryChanged = updated.ExpiresAt != existing.ExpiresAt || updated.MaxClicks != existing.MaxClicks;
            await database.WriteAsync(async (connection, transaction) =>
            {
                await store.UpdateAsync(connection, transaction, updated, expiryChanged, cancellationToken);
                await outbox.AppendAsync(connection, transaction, EventTypes.LinkUpdated, updated, cancellationToken);
                return true;
            }, cancellationToken);
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            var slugMoved = updated.Slug != existing.Slug || updated.Domain != existing.Domain;
            return slugMoved && await store.FindBySlugAsync(updated.Domain, updated.Slug, cancellationToken) is { } other && other.Id != existing.Id
                ? new LinkOutcome.Conflict(Problems.SlugTaken, $"The slug '{updated.Slug}' is not available on {updated.Domain}.")
                : new LinkOutcome.Conflict(Problems.ExternalIdTaken, $"Another link of the workspace has the externalId '{updated.ExternalId}'.");
        }

        _changes.Changed([(existing, updated)]);
        return new LinkOutcome.Updated(updated);
    }

    public async Task<Link?> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken)
    {
        var deleted = await database.WriteAsync(async (connection, transaction) =>
        {
            var link = await store.DeleteAsync(connection, transaction, workspaceId, id, cancellationToken);
            if (link is not null)
            {
                await outbox.AppendAsync(connection, transaction, EventTypes.LinkDeleted, link, cancellationToken);
            }

            return link;
        }, cancellationToken);
        if (deleted is not null)
        {
            _changes.Deleted([deleted]);
        }

        return deleted;
    }

    public Task<Link?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken) =>
        store.FindAsync(workspaceId, id, cancellationToken);

    private async Task<Link?> FindByExternalIdAsync(string workspaceId, string externalId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await LinkStore.FindByExternalIdAsync(connection, null, workspaceId, externalId, cancellationToken);
    }
}
