// A relay's YAML file (gray.yaml) onto RelayOptions, through the node model: every setting is checked
// on its own and every error names its line; unknown keys are errors.
using Gray.Hosting;
using Gray.Protocol;
using Gray.Relay;
using YamlDotNet.RepresentationModel;

namespace Gray.Cli;

internal static class RelayConfigFile
{
    /// <summary>Keys whose value is nested settings: their children are "section.child" in RelaySettings.</summary>
    private static readonly HashSet<string> Sections =
        ["tls", "trusted_keys", "otlp", "metrics", "http", "bandwidth", "cluster"];

    /// <summary>Every error of the file, each with its line; empty when it is valid.</summary>
    public static List<string> Check(string path) => Read(path, new RelayOptions()).Errors;

    /// <summary>Applies the file to <paramref name="options"/>; throws every error at once.</summary>
    public static void Apply(string path, RelayOptions options) => Read(path, options).ThrowIfAny();

    private static ConfigDocument Read(string path, RelayOptions options)
    {
        var file = ConfigDocument.Read(path);
        if (file.Root is not { } root) return file;
        options.DefaultRules = new ServerRules();
        YamlNode? servers = null, tls = null;
        foreach (var (key, keyNode, value) in ConfigDocument.Entries(root))
        {
            if (key == "servers") servers = keyNode;
            else if (key == "tls") tls = keyNode;
            if (key != "servers") file.Try(keyNode, () => ApplyTopLevel(file, options, key, keyNode, value));
        }

        // Servers inherit the rules of the whole file, wherever in it those stand.
        file.Try(root, () => CheckRules(options.DefaultRules, ""));
        if (servers is not null) file.Try(servers, () => ApplyServers(file, options, root.Children[servers]));
        if ((options.CertificatePath is null) != (options.KeyPath is null))
        {
            file.Error(tls ?? root, "tls needs both certificate and key");
        }

        return file;
    }

    private static void ApplyTopLevel(ConfigDocument file, RelayOptions options, string key, YamlNode keyNode,
        YamlNode value)
    {
        if (Sections.Contains(key))
        {
            if (ConfigDocument.Mapping(value, key) is not { } section) return;
            foreach (var (child, childNode, childValue) in ConfigDocument.Entries(section))
            {
                file.Try(childNode, () => ApplySingle(options, $"{key}.{child}", childValue, file.BaseDir));
            }
        }
        else if (key is "client_allow" or "client_deny")
        {
            var list = ConfigDocument.List(value, key);
            options.DefaultRules = key == "client_allow"
                ? options.DefaultRules with { ClientAllow = list }
                : options.DefaultRules with { ClientDeny = list };
        }
        else
        {
            ApplySingle(options, key, value, file.BaseDir);
        }
    }

    private static void ApplySingle(RelayOptions options, string key, YamlNode value, string baseDir)
    {
        if (!RelaySettings.Single.TryGetValue(key, out var apply))
        {
            throw new ConfigException($"unknown setting '{key}'");
        }
        // A list (http.open: [metrics, readyz]) is read as its items joined with commas.
        string? text = value is YamlSequenceNode ? string.Join(',', ConfigDocument.List(value, key))
            : ConfigDocument.Scalar(value, key);
        if (text is not null) apply(options, text, baseDir);
    }

    // A server's bandwidth: each key on its own line, so that each error names its line.
    private static Bandwidth ReadBandwidth(ConfigDocument file, Bandwidth bandwidth, YamlNode value, string where)
    {
        if (ConfigDocument.Mapping(value, where) is not { } section) return bandwidth;
        foreach (var (key, keyNode, child) in ConfigDocument.Entries(section))
        {
            file.Try(keyNode, () => bandwidth = BandwidthSetting.With(bandwidth, key, Text(child, $"{where}.{key}"),
                $"{where}.{key}"));
        }

        return bandwidth;
    }

    private static void ApplyServers(ConfigDocument file, RelayOptions options, YamlNode value)
    {
        if (ConfigDocument.Mapping(value, "servers") is not { } servers) return;
        foreach (var (id, idNode, entry) in ConfigDocument.Entries(servers))
        {
            file.Try(idNode, () =>
            {
                if (!Auth.IsValidId(id))
                {
                    throw new ConfigException($"servers: '{RelaySettings.Shorten(id)}' is not a valid server id");
                }
                ApplyServer(file, options, id, ConfigDocument.Mapping(entry, $"servers.{id}"));
                // A name is one server's: the second claim is the error, at its line.
                var mine = options.Declared.GetValueOrDefault(id)?.Hosts ?? [];
                foreach (var other in options.Declared.Values.Where(d => d.Id != id))
                {
                    if (other.Hosts.FirstOrDefault(mine.Contains) is { } host)
                        throw new ConfigException($"servers.{id}.hosts: '{host}' is claimed by servers.{other.Id} too");
                }
            });
        }
    }

    private static void ApplyServer(ConfigDocument file, RelayOptions options, string id, YamlMappingNode? entry)
    {
        string prefix = $"servers.{id}.";
        var rules = options.DefaultRules;
        string? secret = null, secretFile = null, secretEnv = null;
        int? clientPort = null, dataPort = null;
        var protocols = ServerProtocols.Tcp;
        List<string> hosts = [];
        foreach (var (key, keyNode, value) in entry is null ? [] : ConfigDocument.Entries(entry))
        {
            string name = prefix + key;
            file.Try(keyNode, () =>
            {
                switch (key)
                {
                    case "client_allow": rules = rules with { ClientAllow = ConfigDocument.List(value, name) }; break;
                    case "client_deny": rules = rules with { ClientDeny = ConfigDocument.List(value, name) }; break;
                    case "max_pool":
                        rules = rules with { MaxPool = RelaySettings.Pool(Text(value, name), name) };
                        break;
                    case "pair_idle_timeout":
                        rules = rules with { PairIdleTimeout = RelaySettings.IdleTimeout(Text(value, name), name) };
                        break;
                    case "auth": rules = rules with { Auth = AuthMethod(Text(value, name), name) }; break;
                    case "bandwidth":
                        rules = rules with { Bandwidth = ReadBandwidth(file, rules.Bandwidth, value, name) };
                        break;
                    case "secret": secret = Text(value, name); break;
                    case "secret_file": secretFile = Text(value, name); break;
                    case "secret_env": secretEnv = Text(value, name); break;
                    case "client_port": clientPort = RelaySettings.Port(Text(value, name), name); break;
                    case "hosts": hosts = HostClaims(ConfigDocument.List(value, name), name); break;
                    case "http_auth": rules = rules with { HttpAuth = HttpAuthSetting.Read(file, value, name) }; break;
                    case "host_header":
                        rules = rules with { HostHeader = HostHeader(Text(value, name), name) };
                        break;
                    case "type": protocols = ServerType(Text(value, name), name); break;
                    case "data_port":
                        // "separate": this server's agents get a data port of their own (the seed's
                        // layout); a number fixes it for a declared server, and is separate too.
                        string port = Text(value, name);
                        if (port != "separate") dataPort = RelaySettings.Port(port, name);
                        rules = rules with { SeparateDataPort = true };
                        break;
                    default: throw new ConfigException($"unknown setting '{name}'");
                }
            });
        }

        CheckRules(rules, prefix);
        options.Servers[id] = rules;
        // A server is declared (registered from the file) when its entry has a secret.
        string where = $"servers.{id}";
        if (Secrets.Resolve(secret, secretFile, secretEnv, where, file.BaseDir) is { } declared)
        {
            if (declared.Length < Auth.MinSecretChars)
            {
                throw new ConfigException($"{where}: the secret must have at least {Auth.MinSecretChars} characters " +
                    "(for example `openssl rand -base64 32`)");
            }
            options.Declared[id] = new DeclaredServer(id, declared, clientPort, dataPort, protocols) { Hosts = hosts };
        }
        else if (clientPort is not null || dataPort is not null || protocols != ServerProtocols.Tcp || hosts.Count > 0)
        {
            throw new ConfigException($"{where}: client_port, data_port, type and hosts declare a server, which " +
                "needs secret, secret_file or secret_env");
        }
    }

    // A name (and port) the service expects in Host: what the client sent stays in X-Forwarded-Host.
    private static string HostHeader(string text, string key) =>
        Uri.CheckHostName(text.Split(':')[0]) is UriHostNameType.Dns or UriHostNameType.IPv4
            && (text.Split(':') is [_] || (text.Split(':') is [_, var port] && int.TryParse(port, out int p)
                && p is > 0 and <= 65535))
            ? text
            : throw new ConfigException($"{key}: '{RelaySettings.Shorten(text)}' is not a host name (or name:port)");

    // Checked here, so that a bad name stops the start (or the reload) with its line.
    private static List<string> HostClaims(List<string> names, string key)
    {
        try
        {
            return [.. names.Select(Gray.Relay.HostRouting.HostName.NormalizeClaim)];
        }
        catch (FormatException error)
        {
            throw new ConfigException($"{key}: {error.Message}");
        }
    }

    private static ServerProtocols ServerType(string text, string key) => text switch
    {
        "tcp" => ServerProtocols.Tcp,
        "udp" => ServerProtocols.Udp,
        "tcp+udp" or "udp+tcp" => ServerProtocols.Tcp | ServerProtocols.Udp,
        _ => throw new ConfigException($"{key}: '{RelaySettings.Shorten(text)}' is none of tcp, udp, tcp+udp"),
    };

    private static ServerAuth AuthMethod(string text, string key) => text switch
    {
        "key" => ServerAuth.KeyOnly,
        "any" => ServerAuth.SecretOrKey,
        _ => throw new ConfigException($"{key}: '{RelaySettings.Shorten(text)}' is not key or any"),
    };

    private static string Text(YamlNode value, string key) =>
        ConfigDocument.Scalar(value, key) ?? throw new ConfigException($"{key}: needs a value");

    private static void CheckRules(ServerRules rules, string prefix)
    {
        try
        {
            rules.ToAddressRules();
        }
        catch (FormatException error)
        {
            throw new ConfigException($"{prefix}client_allow/client_deny: {error.Message}");
        }
    }
}
