// A .env file (KEY=VALUE lines) in the working directory, loaded into the environment first, as the
// seed does; it never overrides a variable that is already set.
using Gray.Hosting;

namespace Gray.Cli;

internal static class DotEnv
{
    /// <summary>
    /// Loads KEY=VALUE lines of a .env file into the environment, without overriding variables already set.
    /// </summary>
    public static void Load(string path)
    {
        if (!File.Exists(path)) return;
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith("export ", StringComparison.Ordinal)) line = line[7..];
            int equals = line.IndexOf('=');
            if (equals <= 0) throw new ConfigException($"{path}:{number}: expected KEY=VALUE");
            string key = line[..equals].Trim(), value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' && value[^1] == '"' || value[0] == '\'' && value[^1] == '\''))
            {
                value = value[1..^1];
            }
            if (Environment.GetEnvironmentVariable(key) is null) Environment.SetEnvironmentVariable(key, value);
        }
    }
}
