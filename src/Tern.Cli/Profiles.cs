using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tern.Cli;

/// <summary>One Tern server and key the CLI may talk to.</summary>
public sealed record Profile(string Url, string ApiKey);

/// <summary>
/// Named profiles in the config file: <c>{ "profiles": { "default": { "url": "…", "apiKey": "tern_…" } } }</c>.
/// Which one applies: <c>--url</c>/<c>--api-key</c>, then <c>--profile NAME</c>, then <c>TERN_URL</c>/<c>TERN_API_KEY</c>,
/// then the profile named by <c>TERN_PROFILE</c> or <c>default</c>.
/// </summary>
public static class Profiles
{
    public static Profile Resolve(CliContext context, string? url, string? apiKey, string? profileName)
    {
        if (url is not null && apiKey is not null)
        {
            return new Profile(url, apiKey);
        }

        var stored = profileName is not null ? Read(context.ConfigPath, profileName)
            ?? throw new UsageException($"No profile '{profileName}' in {context.ConfigPath}.")
            : null;
        var fromEnvironment = stored is null ? (context.Environment("TERN_URL"), context.Environment("TERN_API_KEY")) : (null, null);
        var fallback = stored ?? Read(context.ConfigPath, context.Environment("TERN_PROFILE") ?? "default");
        var resolvedUrl = url ?? stored?.Url ?? fromEnvironment.Item1 ?? fallback?.Url;
        var resolvedKey = apiKey ?? stored?.ApiKey ?? fromEnvironment.Item2 ?? fallback?.ApiKey;
        if (string.IsNullOrEmpty(resolvedUrl) || string.IsNullOrEmpty(resolvedKey))
        {
            throw new UsageException(
                $"Tell tern which server to use: set TERN_URL and TERN_API_KEY, pass --url and --api-key, or save a profile with 'tern profiles set NAME --url URL --api-key KEY' ({context.ConfigPath}).");
        }

        return new Profile(resolvedUrl, resolvedKey);
    }

    public static Profile? Read(string path, string name)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var profile = JsonNode.Parse(File.ReadAllText(path))?["profiles"]?[name];
        return profile?["url"]?.GetValue<string>() is { } url && profile["apiKey"]?.GetValue<string>() is { } key ? new Profile(url, key) : null;
    }

    /// <summary>Adds or replaces a profile; the file is readable by its owner only, since it holds keys.</summary>
    public static void Write(string path, string name, Profile profile)
    {
        var root = File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? [] : new JsonObject();
        var profiles = root["profiles"]?.AsObject() ?? [];
        root["profiles"] = profiles;
        profiles[name] = new JsonObject { ["url"] = profile.Url, ["apiKey"] = profile.ApiKey };
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

/// <summary>The command line cannot run as given (exit code 2).</summary>
public sealed class UsageException(string message) : Exception(message);
