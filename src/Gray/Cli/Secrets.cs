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
    /// <summary>Largest secret file read, in bytes: a secret is a line, not a document.</summary>
    private const int MaxFileBytes = 4096;

    public static string? Resolve(string? secret, string? secretFile, string? secretEnv, string where, string baseDir)
    {
        int given = (secret is null ? 0 : 1) + (secretFile is null ? 0 : 1) + (secretEnv is null ? 0 : 1);
        if (given == 0) return null;
        if (given > 1) throw new ConfigException($"{where}: give only one of secret, secret_file, secret_env");
        if (secret is not null) return secret;
        if (secretFile is not null)
        {
            return ReadFile(Path.Combine(baseDir, secretFile), $"{where}: secret_file");
        }

        return Environment.GetEnvironmentVariable(secretEnv!) is { Length: > 0 } value
            ? value
            : throw new ConfigException($"{where}: secret_env: {secretEnv} is not set");
    }

    /// <summary>
    /// The secret in <paramref name="path"/>, trimmed; any failure is a ConfigException naming
    /// <paramref name="what"/>.
    /// </summary>
    public static string ReadFile(string path, string what)
    {
        try
        {
            if (Directory.Exists(path)) throw new ConfigException($"{what}: {path} is a directory");
            using var file = File.OpenRead(path);
            var buffer = new byte[MaxFileBytes + 1];
            int length = file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            if (length > MaxFileBytes) throw new ConfigException($"{what}: {path} is over {MaxFileBytes} bytes");
            string secret = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Trim();
            return secret.Length > 0 ? secret : throw new ConfigException($"{what}: {path} is empty");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{what}: {error.Message}");
        }
    }
}
