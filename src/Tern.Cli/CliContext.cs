using Spectre.Console;

namespace Tern.Cli;

/// <summary>What a run of the CLI talks to: its output, its environment and its config file. Tests pass their own.</summary>
public sealed class CliContext
{
    public required TextWriter Out { get; init; }
    public required TextWriter Error { get; init; }
    /// <summary>Spectre's console over <see cref="Out"/>: tables, charts and the progress bar.</summary>
    public required IAnsiConsole Console { get; init; }
    /// <summary>True when a person watches a terminal: a live progress bar; false: plain progress lines.</summary>
    public required bool Interactive { get; init; }
    public required Func<string, string?> Environment { get; init; }
    /// <summary>Where named profiles are kept; default <c>~/.config/tern/config.json</c>.</summary>
    public required string ConfigPath { get; init; }
    /// <summary>Whether the process handles Ctrl-C itself (a test cancels through its token instead).</summary>
    public bool HandlesCtrlC { get; init; }

    /// <summary>Table width when the output goes to a file or a pipe: wide enough that ids and URLs are not wrapped.</summary>
    public const int UnwrappedWidth = 240;

    public static CliContext FromProcess()
    {
        var interactive = !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Console;
        if (!interactive)
        {
            console.Profile.Width = UnwrappedWidth;
        }

        return new CliContext
        {
            Out = System.Console.Out,
            Error = System.Console.Error,
            Console = console,
            Interactive = interactive,
            Environment = System.Environment.GetEnvironmentVariable,
            ConfigPath = DefaultConfigPath(System.Environment.GetEnvironmentVariable),
            HandlesCtrlC = true,
        };
    }

    /// <summary>A context writing plain text to the given writers (no colours, no live rendering).</summary>
    public static CliContext Plain(TextWriter output, TextWriter error, Func<string, string?> environment, string configPath)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = UnwrappedWidth;
        return new CliContext
        {
            Out = output,
            Error = error,
            Console = console,
            Interactive = false,
            Environment = environment,
            ConfigPath = configPath,
        };
    }

    public static string DefaultConfigPath(Func<string, string?> environment)
    {
        var home = environment("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(home, "tern", "config.json");
    }
}
