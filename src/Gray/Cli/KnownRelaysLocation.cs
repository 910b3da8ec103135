// Where the agent keeps the relay fingerprints it trusted on first use: a state directory that exists
// and is writable under systemd's DynamicUser too, never the working directory.
namespace Gray.Cli;

internal static class KnownRelaysLocation
{
    public const string FileName = "known_relays";

    /// <summary>
    /// GRAY_KNOWN_RELAYS; else an existing ~/.config/gray/known_relays (where earlier versions kept it);
    /// else the first writable of $STATE_DIRECTORY (systemd's StateDirectory=), $XDG_STATE_HOME/gray,
    /// ~/.local/state/gray; else next to the agent's config file.
    /// </summary>
    public static string Resolve(Func<string, string?> variable, string? configFile)
    {
        if (Set(variable("GRAY_KNOWN_RELAYS")) is { } given) return given;
        string? home = Set(variable("HOME"));
        if (home is not null && Path.Combine(home, ".config", "gray", FileName) is var legacy && File.Exists(legacy))
        {
            return legacy;
        }

        string?[] candidates =
        [
            Set(variable("STATE_DIRECTORY"))?.Split(':')[0],
            Set(variable("XDG_STATE_HOME")) is { } xdg ? Path.Combine(xdg, "gray") : null,
            home is not null ? Path.Combine(home, ".local", "state", "gray") : null,
            configFile is not null ? Path.GetDirectoryName(Path.GetFullPath(configFile)) : null,
        ];
        foreach (string? directory in candidates)
        {
            if (directory is not null && IsWritable(directory)) return Path.Combine(directory, FileName);
        }

        // Nothing writable: the agent still runs (with --fingerprint it needs no file) and warns if it
        // cannot remember a relay.
        return candidates.FirstOrDefault(c => c is not null) is { } fallback
            ? Path.Combine(fallback, FileName)
            : throw new Gray.Hosting.ConfigException("no directory for the trusted relay fingerprints: set " +
                "GRAY_KNOWN_RELAYS or HOME, or StateDirectory= in the systemd unit");
    }

    private static string? Set(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static bool IsWritable(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            return true;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
