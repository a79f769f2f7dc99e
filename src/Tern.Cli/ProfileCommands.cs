using System.CommandLine;

namespace Tern.Cli;

/// <summary><c>tern profiles set NAME --url URL --api-key KEY</c>: saves a named server and key in the config file.</summary>
public static class ProfileCommands
{
    public static Command Build(Cli cli)
    {
        var name = new Argument<string>("NAME") { Description = "The profile's name ('default' is used when none is named)" };
        var set = new Command("set", "Save a profile in the config file") { name };
        set.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(cli.Url) is not { } url || parse.GetValue(cli.ApiKey) is not { } key)
            {
                await cli.Context.Error.WriteLineAsync("error: give both --url and --api-key.");
                return TernCli.Usage;
            }

            Profiles.Write(cli.Context.ConfigPath, parse.GetValue(name)!, new Profile(url, key));
            await cli.Context.Out.WriteLineAsync($"Saved profile '{parse.GetValue(name)}' in {cli.Context.ConfigPath}.");
            return TernCli.Ok;
        });
        return new Command("profiles", "Named servers and keys in the config file") { set };
    }
}
