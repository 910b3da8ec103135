// Where a secret comes from in a configuration file: the file itself, a file of its own, or an
// environment variable (relay servers and agent tunnels alike).
using Gray.Hosting;

namespace Gray.Cli;

internal static class Secrets
{
    /// <summary>
    /// A secret given in the file itself, in a file of its own, or in an environment variable (relay
    /// servers and agent tunnels alike); null when none of the three is given, an error if several are.
    /// </summary>
    public static string? Resolve(string? secret, string? secretFile, string? secretEnv, string where, string baseDir)
    {
        int given = (secret is null ? 0 : 1) + (secretFile is null ? 0 : 1) + (secretEnv is null ? 0 : 1);
        if (given == 0) return null;
        if (given > 1) throw new ConfigException($"{where}: give only one of secret, secret_file, secret_env");
        if (secret is not null) return secret;
        if (secretFile is not null)
        {
            try
            {
                return File.ReadAllText(Path.Combine(baseDir, secretFile)).Trim();
            }
            catch (IOException error)
            {
                throw new ConfigException($"{where}: secret_file: {error.Message}");
            }
        }

        return Environment.GetEnvironmentVariable(secretEnv!) is { Length: > 0 } value
            ? value
            : throw new ConfigException($"{where}: secret_env: {secretEnv} is not set");
    }
}
