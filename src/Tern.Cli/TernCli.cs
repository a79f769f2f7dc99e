using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tern.Client;

namespace Tern.Cli;

/// <summary>
/// The <c>tern</c> command tree, nouns then verbs. Exit codes: 0 done, 1 Tern answered with a problem (or could not be
/// reached, or some rows of an import failed), 2 the command line was wrong, 130 stopped by Ctrl-C.
/// </summary>
public static class TernCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        var cli = new Cli(context);
        var root = new RootCommand("tern: links, imports, exports, stats and webhooks of a Tern server.")
        {
            cli.Url, cli.ApiKey, cli.ProfileName, cli.Json,
            LinkCommands.Build(cli),
            ClickCommands.Build(cli),
            StatsCommand.Build(cli),
            WebhookCommands.Build(cli),
            ListenCommand.Build(cli),
            ForeignImportCommand.Build(cli),
            ProfileCommands.Build(cli),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await context.Error.WriteLineAsync($"error: {error.Message}");
            }

            await context.Error.WriteLineAsync("Run 'tern --help' (or 'tern COMMAND --help') for usage.");
            return Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            // Ctrl-C cancels the command's token; an import then finishes the batch on its way, which may take a while.
            ProcessTerminationTimeout = context.HandlesCtrlC ? TimeSpan.FromSeconds(30) : null,
        };
        return await parse.InvokeAsync(invocation, cancellationToken);
    }
}

/// <summary>The options every command shares, and the one place that turns failures into exit codes.</summary>
public sealed class Cli(CliContext context)
{
    public static readonly JsonSerializerOptions Indented = new(Contracts.TernJsonContext.Default.Options)
    {
        WriteIndented = true,
        TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(Contracts.TernJsonContext.Default, CliJsonContext.Default),
    };

    public CliContext Context => context;

    public Option<string?> Url { get; } = new("--url") { Description = "Tern's origin (default: TERN_URL or the profile)", Recursive = true };

    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "API key (default: TERN_API_KEY or the profile)", Recursive = true };

    public Option<string?> ProfileName { get; } = new("--profile") { Description = "Named profile from the config file", Recursive = true };

    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON instead of a table", Recursive = true };

    /// <summary>Sets the command's action: resolves the server, builds the client and maps failures to exit codes.</summary>
    public Command Runs(Command command, Func<ParseResult, TernClient, CancellationToken, Task<int>> run)
    {
        command.SetAction((parse, cancellationToken) => RunAsync(parse, run, cancellationToken));
        return command;
    }

    /// <summary>Prints a value of the API as indented JSON (the contract's field names).</summary>
    public void WriteJson<T>(T value) => context.Out.WriteLine(JsonSerializer.Serialize(value, Indented.GetTypeInfo(typeof(T))));

    private async Task<int> RunAsync(ParseResult parse, Func<ParseResult, TernClient, CancellationToken, Task<int>> run, CancellationToken cancellationToken)
    {
        try
        {
            var profile = Profiles.Resolve(context, parse.GetValue(Url), parse.GetValue(ApiKey), parse.GetValue(ProfileName));
            if (!Uri.TryCreate(profile.Url, UriKind.Absolute, out var baseUrl))
            {
                throw new UsageException($"'{profile.Url}' is not an absolute URL.");
            }

            var services = new ServiceCollection();
            services.AddTernClient(o =>
            {
                o.BaseUrl = baseUrl;
                o.ApiKey = profile.ApiKey;
            });
            await using var provider = services.BuildServiceProvider();
            return await run(parse, provider.GetRequiredService<TernClient>(), cancellationToken);
        }
        catch (UsageException e)
        {
            await context.Error.WriteLineAsync($"error: {e.Message}");
            return TernCli.Usage;
        }
        catch (TernApiException e)
        {
            if (parse.GetValue(Json))
            {
                await context.Error.WriteLineAsync(JsonSerializer.Serialize(e.Problem, CliJsonContext.Default.TernProblem));
            }
            else
            {
                await context.Error.WriteLineAsync($"error: {e.Message}");
            }

            return TernCli.Failed;
        }
        catch (HttpRequestException e)
        {
            await context.Error.WriteLineAsync($"error: cannot reach Tern: {e.Message}");
            return TernCli.Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await context.Error.WriteLineAsync("stopped");
            return TernCli.Interrupted;
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(TernProblem))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Contracts.LinkResponse>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Contracts.WebhookResponse>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<Contracts.DeliveryResponse>))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
