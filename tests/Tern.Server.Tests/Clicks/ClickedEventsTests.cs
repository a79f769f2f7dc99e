using System.Buffers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Events;
using Tern.Server.Links;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Clicks;

/// <summary>
/// A link.clicked event written around a link's kept JSON is, byte for byte, what the serializer writes for the same
/// envelope, for plain links and for links with every smart field, odd characters and nulls.
/// </summary>
public sealed class ClickedEventsTests(TernFactory tern) : IClassFixture<TernFactory>
{
    public static TheoryData<string> Bodies => new()
    {
        """{"url":"https://example.com/plain"}""",
        """{"url":"https://example.com/p?q=1&r=\u00e9#frag","title":"Caf\u00e9 \"quoted\" <b>&amp;</b> \ud83d\ude80 clicks\":-9","tags":["a","z\u00fc"],"externalId":"ext-1","expiresAt":"2031-01-02T03:04:05.678Z","expiredUrl":"https://example.com/gone","maxClicks":5,"redirectType":307,"forwardQuery":false,"utm":{"source":"sms","campaign":"spring"}}""",
        """{"url":"https://example.com/smart","startsAt":"2020-01-01T00:00:00Z","prelaunchUrl":"https://example.com/soon","rules":[{"when":{"device":["mobile"],"os":["iOS"],"country":["DE"],"language":["de"],"query":{"ref":"x"},"after":"2020-01-01T00:00:00Z","before":"2999-01-01T00:00:00Z"},"url":"https://example.com/r"}],"variants":[{"url":"https://example.com/a","weight":50},{"url":"https://example.com/b","weight":50}],"preview":{"title":"T","description":"D","image":"https://example.com/i.png"},"password":"s3cret"}""",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task AnEventWrittenAroundTheKeptLinkJsonIsWhatTheSerializerWrites(string body)
    {
        var response = await tern.Api().PostAsync("/api/v1/links", new StringContent(body, Encoding.UTF8, "application/json"));
        var created = await response.ReadAsync<LinkResponse>();
        var link = (await tern.Get<LinkStore>().FindManyAsync("ws_default", [created.Id], CancellationToken.None)).Single();
        var responses = tern.Get<LinkResponses>();
        var click = new Click
        {
            Id = "clk_01JDQ7X1R5ZK3M8V0W2C4B6N9P",
            WorkspaceId = link.WorkspaceId,
            LinkId = link.Id,
            Slug = link.Slug,
            Domain = link.Domain,
            TimestampMs = 1_765_000_000_123,
            Device = "mobile",
            Browser = "Safari",
            Os = "iOS",
            Country = "DE",
            Referrer = "https://news.example/\u00e9?a=\"b\"",
            Language = "de",
            IsBot = false,
            Destination = "https://example.com/a",
            Variant = 0,
            Source = "qr",
        };

        foreach (var count in new long[] { 0, 7, 1_234_567_890_123 })
        {
            var expected = JsonSerializer.Serialize(new EventEnvelope
            {
                Id = "evt_01JDQ7X1R5ZK3M8V0W2C4B6N9P",
                Type = EventTypes.LinkClicked,
                Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(click.TimestampMs),
                Data = new EventData { Link = responses.From(link) with { Clicks = count }, Click = click.ToResponse() },
            }, TernJsonContext.Default.EventEnvelope);
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                ClickedEvents.Write(writer, new ArrayBufferWriter<byte>(), "evt_01JDQ7X1R5ZK3M8V0W2C4B6N9P", click,
                    ClickedEvents.LinkJson.Of(link, responses.From(link)), count);
            }

            Assert.Equal(expected, Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
    }

    [Fact]
    public async Task AChangedLinkIsWrittenOutAgainInItsNewVersion()
    {
        var api = tern.Api();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/v1", slug = UniqueSlug("cev") });
        Assert.Equal(System.Net.HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await api.PatchAsJsonAsync($"/api/v1/links/{link.Id}", new { url = "https://example.com/v2" }, Json)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        var events = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.clicked&limit=100", Json))!.Items
            .Where(e => e.Data.Link?.Id == link.Id).ToList();

        Assert.Equal(["https://example.com/v2", "https://example.com/v1"], events.Select(e => e.Data.Link!.Url));
        Assert.Equal([2L, 1L], events.Select(e => e.Data.Link!.Clicks));
    }

    [Fact]
    public async Task ALinksJsonIsKeptFromTheSecondFoldThatSeesItOn()
    {
        var api = tern.Api();
        var kept = tern.Get<ClickedEvents>();
        var link = await api.CreateLinkAsync(new { url = "https://example.com/once", slug = UniqueSlug("cev") });
        var before = kept.Kept;

        Assert.Equal(System.Net.HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        var afterOne = kept.Kept;
        Assert.Equal(System.Net.HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + link.Slug)).StatusCode);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);

        Assert.Equal(before, afterOne);
        Assert.Equal(before + 1, kept.Kept);
        var events = (await api.GetFromJsonAsync<ListResponse<EventEnvelope>>("/api/v1/events?type=link.clicked&limit=100", Json))!.Items
            .Where(e => e.Data.Link?.Id == link.Id).ToList();
        Assert.Equal([2L, 1L], events.Select(e => e.Data.Link!.Clicks));
        Assert.All(events, e => Assert.Equal("https://example.com/once", e.Data.Link!.Url));
    }
}
