using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using System.Text.Json;
using Tern.Contracts;
using Tern.Server.Events;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Clicks;

/// <summary>
/// The <c>link.clicked</c> events of a fold. Each event's <c>data.link</c> is the whole link as the API shows it; the
/// link's JSON is made once per version of the link (its <c>updated_at</c>) and kept, with only the click count put in
/// per event. A fold then reads the full rows, and serializes, only the links it has not written out in that version;
/// for a link with targeting rules and variants that is most of what its events cost. A link's JSON is kept from the
/// second fold that sees it on: in a send-time campaign most links are clicked once, and keeping the JSON of each for a
/// while (20,000 links at a time, about 20 MB) made it outlive the garbage collector's young generations, to be
/// collected from the old one with every redirect paused.
/// </summary>
public sealed class ClickedEvents(LinkStore links, LinkResponses responses, EventOutbox outbox)
{
    /// <summary>Most links whose JSON is kept (about 0.5 KB each, 1.5 KB with ten rules); past it the memory starts over.</summary>
    public const int MaxLinks = 20_000;

    // The count the kept JSON is made with, found again to cut the JSON around it: no real count is negative, and the
    // encoder escapes every '"' inside a string, so the property can only be the link's own.
    private const long CountMark = long.MinValue + 1;
    private static readonly byte[] CountName = "\"clicks\":"u8.ToArray();
    private static readonly byte[] MarkedCount = [.. CountName, .. Encoding.UTF8.GetBytes(CountMark.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = TernJsonContext.Default.Options.Encoder, SkipValidation = true };

    private readonly ConcurrentDictionary<string, LinkJson> _kept = new(StringComparer.Ordinal);

    // Links seen by a fold whose JSON is not kept, by the hash of their id (a collision only keeps a JSON early).
    private readonly HashSet<int> _seenOnce = [];

    /// <summary>How many links' JSON is kept.</summary>
    public int Kept => _kept.Count;

    /// <summary>
    /// Appends one event per click of a link that still exists, in the caller's transaction; returns how many.
    /// <paramref name="versions"/> are the workspace's clicked links as they are now, with their counts after these clicks.
    /// </summary>
    public async Task<int> AppendAsync(
        DbConnection connection, DbTransaction transaction, string workspaceId, IReadOnlyList<Click> clicks,
        IReadOnlyDictionary<string, LinkVersion> versions, CancellationToken cancellationToken)
    {
        List<string> unseen = [.. versions.Values.Where(v => !_kept.TryGetValue(v.Id, out var kept) || kept.UpdatedAtMs != v.UpdatedAtMs).Select(v => v.Id)];
        Dictionary<string, LinkJson>? once = null;
        if (unseen.Count > 0)
        {
            foreach (var link in await links.FindManyAsync(connection, transaction, workspaceId, unseen, cancellationToken))
            {
                var json = LinkJson.Of(link, responses.From(link));
                if (!_kept.ContainsKey(link.Id) && SeenFirst(link.Id))
                {
                    (once ??= new(StringComparer.Ordinal))[link.Id] = json;
                    continue;
                }

                if (_kept.Count >= MaxLinks)
                {
                    _kept.Clear();
                }

                _kept[link.Id] = json;
            }
        }

        var events = new List<AppendedEvent>(clicks.Count);
        var buffer = new ArrayBufferWriter<byte>(2048);
        var linkBytes = new ArrayBufferWriter<byte>(1024);
        using var writer = new Utf8JsonWriter(buffer, WriterOptions);
        foreach (var click in clicks)
        {
            // A link deleted since the click has no event, as it has no link to show.
            if (!versions.TryGetValue(click.LinkId, out var version) || !TryGetJson(click.LinkId, once, out var json))
            {
                continue;
            }

            var id = Ids.New("evt", click.TimestampMs);
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            Write(writer, linkBytes, id, click, json, responses.CountFor(click.LinkId, version.Clicks));
            events.Add(new AppendedEvent(id, EventTypes.LinkClicked, workspaceId, click.LinkId, json.Tags, click.IsBot, click.TimestampMs,
                Encoding.UTF8.GetString(buffer.WrittenSpan)));
        }

        await outbox.AppendAsync(connection, transaction, events, cancellationToken);
        return events.Count;
    }

    /// <summary>Whether a fold sees this link for the first time (as far as the last <see cref="MaxLinks"/> links tell).</summary>
    private bool SeenFirst(string linkId)
    {
        lock (_seenOnce)
        {
            if (_seenOnce.Count >= MaxLinks)
            {
                _seenOnce.Clear();
            }

            return _seenOnce.Add(linkId.GetHashCode(StringComparison.Ordinal));
        }
    }

    private bool TryGetJson(string linkId, Dictionary<string, LinkJson>? once, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out LinkJson json)
    {
        if (_kept.TryGetValue(linkId, out json))
        {
            return true;
        }

        return once?.TryGetValue(linkId, out json) ?? false;
    }

    /// <summary>The envelope as <see cref="JsonSerializer"/> writes an <see cref="EventEnvelope"/>, the link's JSON spliced in.</summary>
    internal static void Write(Utf8JsonWriter writer, ArrayBufferWriter<byte> linkBytes, string id, Click click, LinkJson json, long count)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", EventTypes.LinkClicked);
        writer.WritePropertyName("timestamp");
        JsonSerializer.Serialize(writer, DateTimeOffset.FromUnixTimeMilliseconds(click.TimestampMs), TernJsonContext.Default.DateTimeOffset);
        writer.WriteStartObject("data");
        writer.WritePropertyName("link");
        linkBytes.ResetWrittenCount();
        json.WriteTo(linkBytes, count);
        writer.WriteRawValue(linkBytes.WrittenSpan, skipInputValidation: true);
        writer.WritePropertyName("click");
        JsonSerializer.Serialize(writer, click.ToResponse(), TernJsonContext.Default.ClickResponse);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>A link's JSON as the API shows it, cut around its click count.</summary>
    internal sealed class LinkJson(long updatedAtMs, IReadOnlyList<string> tags, byte[] before, byte[] after)
    {
        public long UpdatedAtMs { get; } = updatedAtMs;

        public IReadOnlyList<string> Tags { get; } = tags;

        public static LinkJson Of(Link link, LinkResponse response)
        {
            var marked = JsonSerializer.SerializeToUtf8Bytes(response with { Clicks = CountMark }, TernJsonContext.Default.LinkResponse);
            var at = marked.AsSpan().IndexOf(MarkedCount);
            if (at < 0)
            {
                throw new InvalidOperationException("A link's JSON has no clicks property to cut around.");
            }

            return new LinkJson(link.UpdatedAt.ToUnixTimeMilliseconds(), link.Tags, marked[..(at + CountName.Length)], marked[(at + MarkedCount.Length)..]);
        }

        /// <summary>Writes the whole JSON with this click count.</summary>
        public void WriteTo(IBufferWriter<byte> output, long count)
        {
            output.Write(before);
            Utf8Formatter.TryFormat(count, output.GetSpan(20), out var written);
            output.Advance(written);
            output.Write(after);
        }
    }
}
