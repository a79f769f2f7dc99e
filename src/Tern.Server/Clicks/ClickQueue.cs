using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Tern.Server.Hosting;

namespace Tern.Server.Clicks;

/// <summary>
/// What the redirect path hands over for one answered click: references to strings the link cache and Kestrel
/// already hold, nothing parsed. Enrichment happens in the <see cref="ClickWriter"/>, off the request path. The address is
/// kept in memory only, to find the country and the daily visitor hash; it is never stored. A smart link's decision
/// rides along: the destination chosen (a reference to the cached string), the rule or variant index (-1: none),
/// and whether the request carried the QR marker. The link id is carried packed; its text is made by the writer.
/// </summary>
public readonly record struct ClickCapture(
    PackedLinkId LinkId,
    string WorkspaceId,
    string Domain,
    string Slug,
    bool HasClickLimit,
    long TimestampMs,
    string? UserAgent,
    string? Referrer,
    string? AcceptLanguage,
    string? CountryHeader,
    IPAddress? RemoteAddress,
    string? ForwardedFor,
    string? Destination = null,
    short RuleIndex = -1,
    short Variant = -1,
    bool FromQr = false);

/// <summary>
/// The bounded queue between answered redirects and the <see cref="ClickWriter"/>. Enqueueing is a lock-free
/// write of a struct while there is room; when storage falls behind and the queue is full, redirects wait for
/// room (back-pressure) instead of dropping clicks.
/// </summary>
public sealed class ClickQueue
{
    private readonly Channel<ClickCapture> _channel;
    private long _enqueued;

    public ClickQueue(IOptions<ClickOptions> options)
    {
        Capacity = options.Value.QueueCapacity;
        _channel = Channel.CreateBounded<ClickCapture>(new BoundedChannelOptions(Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
    }

    public int Capacity { get; }

    /// <summary>Clicks waiting to be written.</summary>
    public int Depth => _channel.Reader.Count;

    /// <summary>Clicks accepted since start; with <see cref="ClickWriter.Persisted"/> it tells when a click is stored.</summary>
    public long Enqueued => Volatile.Read(ref _enqueued);

    public ChannelReader<ClickCapture> Reader => _channel.Reader;

    /// <summary>Completes synchronously while the queue has room, which is the normal case.</summary>
    public ValueTask EnqueueAsync(in ClickCapture click, CancellationToken cancellationToken)
    {
        if (_channel.Writer.TryWrite(click))
        {
            Interlocked.Increment(ref _enqueued);
            return ValueTask.CompletedTask;
        }

        return WaitForRoomAsync(click, cancellationToken);
    }

    /// <summary>No more clicks will come (the server has stopped answering).</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private async ValueTask WaitForRoomAsync(ClickCapture click, CancellationToken cancellationToken)
    {
        await _channel.Writer.WriteAsync(click, cancellationToken);
        Interlocked.Increment(ref _enqueued);
    }
}
