using Microsoft.AspNetCore.Http;
using Tern.Client;
using Tern.Contracts;
using Tern.Server.Clicks;
using Tern.Server.Tests.Infrastructure;
using Tern.Server.Tests.Webhooks;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.Client;

/// <summary>The client against a real Tern, on each storage provider.</summary>
public abstract class TernClientTests(TernFactory tern)
{
    private const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    [Fact]
    public async Task CreatesALinkAtSendTimeAndReadsItsStats()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        var slug = UniqueSlug("send");

        var link = await client.CreateLinkAsync(new CreateLinkRequest
        {
            Url = "https://shop.example/spring",
            Slug = slug,
            Tags = ["newsletter"],
            Utm = new UtmParameters { Source = "newsletter", Campaign = "spring" },
        }, TestContext.Current.CancellationToken);
        var visit = await tern.Visitor().GetAsync($"/{slug}", TestContext.Current.CancellationToken);
        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        var stats = await client.GetLinkStatsAsync(link.Id, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.Found, visit.StatusCode);
        Assert.Equal("https://shop.example/spring?utm_source=newsletter&utm_campaign=spring", link.Url);
        Assert.Equal(1, stats.Total);
        Assert.Equal(1, stats.Timeseries.Sum(p => p.Clicks));
    }

    [Fact]
    public async Task LeavesOutBotClicksAndTheirEventsWhenAskedTo()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        var ct = TestContext.Current.CancellationToken;
        var link = await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://shop.example/bots", Slug = UniqueSlug("bots") }, ct);
        var start = (await client.ListEventsPageAsync(limit: 1, cancellationToken: ct)).Items[0].Id;
        foreach (var agent in new[] { Firefox, "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", Firefox })
        {
            using var visit = new HttpRequestMessage(HttpMethod.Get, "/" + link.Slug);
            visit.Headers.TryAddWithoutValidation("User-Agent", agent);
            Assert.Equal(System.Net.HttpStatusCode.Found, (await tern.Visitor().SendAsync(visit, ct)).StatusCode);
        }

        await tern.Get<ClickWriter>().WaitForPersistedAsync(CancellationToken.None);
        var everyone = await client.ListClicksAsync(new Tern.Client.ClickFilter { LinkId = link.Id }, ct).ToListAsync(ct);
        var people = await client.ListClicksAsync(new Tern.Client.ClickFilter { LinkId = link.Id, IncludeBots = false }, ct).ToListAsync(ct);
        var events = await client.ListEventsAfterAsync(start, "link.clicked", cancellationToken: ct).Where(e => e.Data.Link?.Id == link.Id).ToListAsync(ct);
        var humanEvents = await client.ListEventsAfterAsync(start, "link.clicked", includeBots: false, ct).Where(e => e.Data.Link?.Id == link.Id).ToListAsync(ct);

        Assert.Equal(3, everyone.Count);
        Assert.Equal(2, people.Count);
        Assert.All(people, c => Assert.False(c.IsBot));
        Assert.Equal(3, events.Count);
        Assert.Equal(2, humanEvents.Count);
        Assert.All(humanEvents, e => Assert.False(e.Data.Click!.IsBot));
    }

    [Fact]
    public async Task ThrowsTernApiExceptionCarryingTheProblemDetails()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;

        var error = await Assert.ThrowsAsync<TernApiException>(() =>
            client.CreateLinkAsync(new CreateLinkRequest { Url = "ftp://example.com/file" }, TestContext.Current.CancellationToken));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal(400, error.Problem.Status);
        Assert.False(string.IsNullOrEmpty(error.Problem.Title));
        Assert.Contains("url", error.Problem.Errors!.Keys);
    }

    [Fact]
    public async Task ThrowsNotFoundAsAProblemForAnUnknownLink()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;

        var error = await Assert.ThrowsAsync<TernApiException>(() => client.GetLinkAsync("lnk_unknown", TestContext.Current.CancellationToken));

        Assert.Equal(404, error.StatusCode);
        Assert.Contains("lnk_unknown", error.Problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListsEveryLinkAcrossPagesAsAnAsyncStream()
    {
        var (client, attempts, services) = TernClients.For(tern);
        await using var _ = services;
        var tag = UniqueSlug("paged");
        for (var batch = 0; batch < 2; batch++)
        {
            var created = await client.CreateLinksAsync(
                [.. Enumerable.Range(0, 600).Select(i => new CreateLinkRequest { Url = $"https://example.com/{batch}/{i}", Tags = [tag] })],
                TestContext.Current.CancellationToken);
            Assert.All(created.Results, r => Assert.Equal("created", r.Status));
        }

        var pagesBefore = attempts.Attempts.Count;
        var ids = new HashSet<string>();
        await foreach (var link in client.ListLinksAsync(new LinkFilter { Tag = tag }, TestContext.Current.CancellationToken))
        {
            ids.Add(link.Id);
        }

        Assert.Equal(1200, ids.Count);
        Assert.Equal(2, attempts.Attempts.Count - pagesBefore);
    }

    [Fact]
    public async Task UpdatesOnlyTheFieldsThatAreSetAndClearsThoseSetToNull()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        var link = await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/a", Title = "A", Tags = ["x"] },
            TestContext.Current.CancellationToken);

        var changed = await client.UpdateLinkAsync(link.Id, new UpdateLinkRequest { Title = null, Url = "https://example.com/b" },
            TestContext.Current.CancellationToken);

        Assert.Null(changed.Title);
        Assert.Equal("https://example.com/b", changed.Url);
        Assert.Equal(["x"], changed.Tags);
    }

    [Fact]
    public async Task DeletesALinkSoItIsGone()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        var link = await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/gone" }, TestContext.Current.CancellationToken);

        await client.DeleteLinkAsync(link.Id, TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<TernApiException>(() => client.GetLinkAsync(link.Id, TestContext.Current.CancellationToken));
        Assert.Equal(404, error.StatusCode);
    }

    [Fact]
    public async Task VerifierAndTheStandardWebhooksPackageAgreeOnARealDelivery()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        await using var receiver = await WebhookReceiver.StartAsync();
        var webhook = await client.CreateWebhookAsync(new CreateWebhookRequest { Url = receiver.Url, Events = ["link.created"] },
            TestContext.Current.CancellationToken);

        var link = await client.CreateLinkAsync(new CreateLinkRequest { Url = "https://example.com/hooked", Slug = UniqueSlug("hook") },
            TestContext.Current.CancellationToken);
        var delivery = (await receiver.WaitForAsync(1)).Single(d => d.Body.Contains(link.Id, StringComparison.Ordinal));

        var headers = new HeaderDictionary
        {
            ["webhook-id"] = delivery.Id,
            ["webhook-timestamp"] = delivery.Timestamp,
            ["webhook-signature"] = delivery.Signature,
        };
        var verified = new WebhookVerifier(webhook.Secret!).Verify(delivery.Body, name => headers[name].ToString());
        new StandardWebhooks.StandardWebhook(webhook.Secret!).Verify(delivery.Body, headers);
        Assert.Equal("link.created", verified.Type);
        Assert.Equal(link.Id, verified.Data.Link!.Id);

        var tampered = delivery.Body.Replace("hooked", "hacked", StringComparison.Ordinal);
        Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(webhook.Secret!).Verify(tampered, name => headers[name].ToString()));
        Assert.ThrowsAny<Exception>(() => new StandardWebhooks.StandardWebhook(webhook.Secret!).Verify(tampered, headers));
    }

    [Fact]
    public async Task ListsTheWebhooksDeliveriesAndRetriesOne()
    {
        var (client, _, services) = TernClients.For(tern);
        await using var _ = services;
        await using var receiver = await WebhookReceiver.StartAsync();
        var webhook = await client.CreateWebhookAsync(new CreateWebhookRequest { Url = receiver.Url, Events = ["link.deleted"] },
            TestContext.Current.CancellationToken);

        var test = await client.TestWebhookAsync(webhook.Id, TestContext.Current.CancellationToken);
        await receiver.WaitForAsync(1);
        // Retried once the first attempt is in the log: a retry asked for while an attempt is still being recorded is
        // overtaken by that attempt's outcome.
        while (!await client.ListDeliveriesAsync(webhook.Id, "succeeded", TestContext.Current.CancellationToken)
            .AnyAsync(d => d.Id == test.Id, TestContext.Current.CancellationToken))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        await client.RetryDeliveryAsync(webhook.Id, test.Id, TestContext.Current.CancellationToken);
        await receiver.WaitForAsync(2);
        var deliveries = await client.ListDeliveriesAsync(webhook.Id, cancellationToken: TestContext.Current.CancellationToken)
            .ToListAsync(TestContext.Current.CancellationToken);

        Assert.Contains(deliveries, d => d.Id == test.Id);
        Assert.Contains(await client.ListWebhooksAsync(TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken),
            w => w.Id == webhook.Id);
        Assert.All(receiver.Received, r => Assert.Equal(test.EventId, r.Id));
    }
}

public sealed class TernClientTestsOnSqlite(WebhookTern tern) : TernClientTests(tern), IClassFixture<WebhookTern>;

public sealed class TernClientTestsOnPostgres(PostgresWebhookTern tern) : TernClientTests(tern), IClassFixture<PostgresWebhookTern>;
