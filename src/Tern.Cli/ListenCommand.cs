using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Tern.Client;

namespace Tern.Cli;

/// <summary>
/// <c>tern listen --forward-to URL</c>: follows the workspace's event stream and POSTs each event to a local receiver,
/// signed as a Tern webhook (Standard Webhooks) with a secret printed on start, so a receiver can be built and debugged
/// on a laptop without a public URL.
/// </summary>
public static class ListenCommand
{
    public static Command Build(Cli cli)
    {
        var forwardTo = new Option<string>("--forward-to") { Description = "The local receiver, e.g. http://localhost:3000/hook", Required = true };
        var events = new Option<string[]>("--events") { Description = "Only these event types; repeat for more", Arity = ArgumentArity.ZeroOrMore };
        var secret = new Option<string?>("--secret") { Description = "Sign with this whsec_… secret instead of a new one" };
        var after = new Option<string?>("--after") { Description = "Start after this event id (default: from now)" };
        var command = new Command("listen", "Forward the workspace's events, signed, to a local URL") { forwardTo, events, secret, after };
        return cli.Runs(command, async (parse, client, cancellationToken) =>
        {
            if (!Uri.TryCreate(parse.GetValue(forwardTo), UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
            {
                throw new UsageException("--forward-to must be an absolute http or https URL.");
            }

            var signingSecret = parse.GetValue(secret) ?? WebhookSignature.NewSecret();
            var types = parse.GetValue(events) is { Length: > 0 } e ? new HashSet<string>(e, StringComparer.Ordinal) : null;
            var output = cli.Context.Out;
            // "From now" is "after the newest event so far": an event committed while the stream connects is not missed.
            var start = parse.GetValue(after) ?? ((await client.ListEventsPageAsync(limit: 1, cancellationToken: cancellationToken)).Items is [var newest, ..] ? newest.Id : null);
            await output.WriteLineAsync($"Ready. Forwarding events to {target}. Your webhook signing secret is {signingSecret}");
            await output.FlushAsync(cancellationToken);

            using var forward = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                await foreach (var item in client.StreamEventJsonAsync(start, cancellationToken: cancellationToken))
                {
                    if (types is not null && !types.Contains(item.Type))
                    {
                        continue;
                    }

                    await output.WriteLineAsync(await ForwardAsync(forward, target, signingSecret, item, cancellationToken));
                    await output.FlushAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }

            return TernCli.Ok;
        });
    }

    /// <summary>POSTs one event as Tern would deliver it and describes the receiver's answer in one line.</summary>
    private static async Task<string> ForwardAsync(HttpClient http, Uri target, string secret, StreamedEvent item, CancellationToken cancellationToken)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Content = new StringContent(item.Json, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.TryAddWithoutValidation(WebhookVerifier.IdHeader, item.Id);
        request.Headers.TryAddWithoutValidation(WebhookVerifier.TimestampHeader, timestamp);
        request.Headers.TryAddWithoutValidation(WebhookVerifier.SignatureHeader, WebhookSignature.Sign(secret, item.Id, timestamp, item.Json));
        var clock = Stopwatch.StartNew();
        var line = $"{DateTimeOffset.UtcNow:HH:mm:ss}  {item.Type,-14} {item.Id}";
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return $"{line}  --> {(int)response.StatusCode} {response.ReasonPhrase} ({clock.ElapsedMilliseconds} ms)";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"{line}  --> failed: {e.Message}";
        }
    }
}
