using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Tern.Contracts;

namespace Tern.Cli;

/// <summary><c>tern webhooks list|deliveries|retry|test</c>.</summary>
public static class WebhookCommands
{
    public static Command Build(Cli cli) => new("webhooks", "Subscriptions, their delivery log, retries and test events")
    {
        List(cli), Deliveries(cli), Retry(cli), Test(cli),
    };

    private static Command List(Cli cli) => cli.Runs(new Command("list", "List subscriptions"), async (parse, client, cancellationToken) =>
    {
        var webhooks = new List<WebhookResponse>();
        await foreach (var webhook in client.ListWebhooksAsync(cancellationToken))
        {
            webhooks.Add(webhook);
        }

        if (parse.GetValue(cli.Json))
        {
            cli.WriteJson(webhooks);
            return TernCli.Ok;
        }

        var table = new Table().AddColumns("id", "url", "events", "status", "last success");
        foreach (var w in webhooks)
        {
            table.AddRow(Markup.Escape(w.Id), Markup.Escape(w.Url), Markup.Escape(string.Join(", ", w.Events)),
                Markup.Escape(w.Enabled ? (w.FailingSince is { } since ? $"failing since {since:u}" : "enabled") : $"disabled: {w.DisabledReason}"),
                w.LastSuccessAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
        }

        cli.Context.Console.Write(table);
        return TernCli.Ok;
    });

    private static Command Deliveries(Cli cli)
    {
        var webhook = new Argument<string>("WEBHOOK_ID");
        var status = new Option<string?>("--status") { Description = "pending, succeeded or failed" };
        status.AcceptOnlyFromAmong("pending", "succeeded", "failed");
        var limit = new Option<int>("--limit") { Description = "How many at most (0: all)", DefaultValueFactory = _ => 50 };
        var command = new Command("deliveries", "The delivery log of a subscription, newest first") { webhook, status, limit };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            var deliveries = new List<DeliveryResponse>();
            var max = parse.GetValue(limit);
            await foreach (var delivery in client.ListDeliveriesAsync(parse.GetValue(webhook)!, parse.GetValue(status), cancellationToken))
            {
                if (max > 0 && deliveries.Count == max)
                {
                    break;
                }

                deliveries.Add(delivery);
            }

            if (parse.GetValue(cli.Json))
            {
                cli.WriteJson(deliveries);
                return TernCli.Ok;
            }

            var table = new Table().AddColumns("id", "event", "type", "status", "attempts", "last answer", "next attempt");
            foreach (var d in deliveries)
            {
                table.AddRow(Markup.Escape(d.Id), Markup.Escape(d.EventId), Markup.Escape(d.EventType), Markup.Escape(d.Status),
                    d.Attempts.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(d.LastStatusCode?.ToString(CultureInfo.InvariantCulture) ?? d.LastError ?? "-"),
                    d.NextAttemptAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
            }

            cli.Context.Console.Write(table);
            return TernCli.Ok;
        });
    }

    private static Command Retry(Cli cli)
    {
        var webhook = new Argument<string>("WEBHOOK_ID");
        var delivery = new Argument<string>("DELIVERY_ID");
        var command = new Command("retry", "Queue a delivery for another attempt now") { webhook, delivery };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            await client.RetryDeliveryAsync(parse.GetValue(webhook)!, parse.GetValue(delivery)!, cancellationToken);
            if (parse.GetValue(cli.Json))
            {
                await cli.Context.Out.WriteLineAsync($$"""{ "retried": "{{parse.GetValue(delivery)}}" }""");
            }
            else
            {
                await cli.Context.Out.WriteLineAsync($"Queued delivery {parse.GetValue(delivery)} for another attempt now.");
            }
            return TernCli.Ok;
        });
    }

    private static Command Test(Cli cli)
    {
        var webhook = new Argument<string>("WEBHOOK_ID");
        var command = new Command("test", "Send a webhook.test event to the subscription's endpoint") { webhook };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            Print(cli, parse, await client.TestWebhookAsync(parse.GetValue(webhook)!, cancellationToken), "Sent a test event as");
            return TernCli.Ok;
        });
    }

    private static void Print(Cli cli, ParseResult parse, DeliveryResponse delivery, string verb)
    {
        if (parse.GetValue(cli.Json))
        {
            cli.WriteJson(delivery);
        }
        else
        {
            cli.Context.Out.WriteLine($"{verb} delivery {delivery.Id} of {delivery.EventType} {delivery.EventId} (status {delivery.Status}).");
        }
    }
}
