// A server's `http_auth: { user, password | password_file | password_env }`: the HTTP entry point's basic
// authentication for its clients. The password is read like a secret (a file or a variable keeps it out
// of the relay file) and never printed.
using Gray.Hosting;
using Gray.Relay;
using YamlDotNet.RepresentationModel;

namespace Gray.Cli;

internal static class HttpAuthSetting
{
    public static HttpCredentials Read(ConfigDocument file, YamlNode value, string where)
    {
        var section = ConfigDocument.Mapping(value, where)
            ?? throw new ConfigException($"{where}: needs user and password (or password_file, password_env)");
        string? user = null, password = null, passwordFile = null, passwordEnv = null;
        foreach (var (key, _, child) in ConfigDocument.Entries(section))
        {
            string text = ConfigDocument.Scalar(child, $"{where}.{key}")
                ?? throw new ConfigException($"{where}.{key}: needs a value");
            switch (key)
            {
                case "user": user = text; break;
                case "password": password = text; break;
                case "password_file": passwordFile = text; break;
                case "password_env": passwordEnv = text; break;
                default: throw new ConfigException($"{where}: unknown setting '{RelaySettings.Shorten(key)}'");
            }
        }

        if (string.IsNullOrEmpty(user) || user.Contains(':'))
            throw new ConfigException($"{where}: user must be given, without ':'");
        int given = (password is null ? 0 : 1) + (passwordFile is null ? 0 : 1) + (passwordEnv is null ? 0 : 1);
        if (given != 1) throw new ConfigException($"{where}: give one of password, password_file, password_env");
        password ??= passwordFile is not null
            ? Secrets.ReadFile(Path.Combine(file.BaseDir, passwordFile), $"{where}.password_file")
            : Environment.GetEnvironmentVariable(passwordEnv!) is { Length: > 0 } fromEnvironment
                ? fromEnvironment
                : throw new ConfigException($"{where}.password_env: {passwordEnv} is not set");
        return new HttpCredentials(user, password);
    }
}
