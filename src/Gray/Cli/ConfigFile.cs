// Reads a relay's YAML config file (gray.yaml) onto RelayOptions; unknown keys are errors.
using System.Globalization;
using System.Net;
using Gray.Relay;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using Gray.Hosting;

namespace Gray.Cli;

public static class ConfigFile
{
    /// <summary>Relay settings that GRAY_* environment variables may set: GRAY_ + the key in capitals, dots as underscores.</summary>
    private static readonly string[] EnvironmentKeys =
    [
        "data_dir", "control", "ports", "public_bind", "allow_plain_data", "allow_mux", "handshake_timeout", "hello_timeout", "otp_timeout",
        "otp_lifetime", "ping_interval", "ping_timeout", "client_wait_timeout", "max_waiting_clients", "max_clients_per_server",
        "max_connections", "max_client_connections_per_ip", "max_pending_per_ip", "max_pool", "pair_idle_timeout", "log_level",
        "tls.certificate", "tls.key", "metrics.listen", "otlp.endpoint", "otlp.interval",
    ];

    /// <summary>GRAY_* variables as a YAML document, applied after the file (environment wins over file).</summary>
    public static void ApplyRelayEnvironment(RelayOptions options)
    {
        var lines = new List<string>();
        var sections = new Dictionary<string, List<string>>();
        foreach (string key in EnvironmentKeys)
        {
            string variable = "GRAY_" + key.Replace('.', '_').ToUpperInvariant();
            if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } value) continue;
            string quoted = "'" + value.Replace("'", "''") + "'";
            if (key.Split('.') is [var section, var name]) (sections.TryGetValue(section, out var list) ? list : sections[section] = []).Add($"  {name}: {quoted}");
            else lines.Add($"{key}: {quoted}");
        }

        foreach (var (section, entries) in sections) lines.AddRange([$"{section}:", .. entries]);
        if (lines.Count > 0) ApplyRelayText(string.Join('\n', lines), "environment (GRAY_*)", Environment.CurrentDirectory, options, replaceRules: false);
    }

    /// <summary>Loads KEY=VALUE lines of a .env file into the environment, without overriding variables already set.</summary>
    public static void LoadDotEnv(string path)
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
            if (value.Length >= 2 && (value[0] == '"' && value[^1] == '"' || value[0] == '\'' && value[^1] == '\'')) value = value[1..^1];
            if (Environment.GetEnvironmentVariable(key) is null) Environment.SetEnvironmentVariable(key, value);
        }
    }

    /// <summary>
    /// Every error of a relay file, each with its line: each top-level setting (and each server entry)
    /// is checked on its own, so one bad value does not hide the next. Empty when the file is valid.
    /// </summary>
    public static List<string> CheckRelay(string path)
    {
        var errors = new List<string>();
        YamlDotNet.RepresentationModel.YamlStream yaml;
        try
        {
            yaml = YamlReader.Load(File.ReadAllText(path));
        }
        catch (YamlException error)
        {
            return [$"{path}:{error.Start.Line}: {error.Message}"];
        }
        catch (IOException error)
        {
            return [$"{path}: {error.Message}"];
        }

        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlDotNet.RepresentationModel.YamlMappingNode root) return errors;
        string baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var (key, value) in root.Children)
        {
            if (key.ToString() == "servers" && value is YamlDotNet.RepresentationModel.YamlMappingNode servers)
            {
                foreach (var (id, entry) in servers.Children)
                {
                    var one = new YamlDotNet.RepresentationModel.YamlMappingNode();
                    one.Add(id, entry);
                    Check(new YamlDotNet.RepresentationModel.YamlMappingNode { { "servers", one } }, id.Start.Line);
                }

                continue;
            }

            Check(new YamlDotNet.RepresentationModel.YamlMappingNode { { key, value } }, key.Start.Line);
        }

        if (errors.Count == 0)
        {
            try
            {
                ApplyRelay(path, new RelayOptions()); // what only the whole file can tell (tls needs both paths)
            }
            catch (ConfigException error)
            {
                errors.Add(error.Message);
            }
        }

        return errors;

        void Check(YamlDotNet.RepresentationModel.YamlMappingNode single, long line)
        {
            var writer = new StringWriter();
            new YamlDotNet.RepresentationModel.YamlStream(new YamlDotNet.RepresentationModel.YamlDocument(single)).Save(writer, assignAnchors: false);
            try
            {
                ApplyRelayText(writer.ToString(), path, baseDir, new RelayOptions(), replaceRules: true);
            }
            catch (ConfigException error)
            {
                // Name the line in the real file, not in the one-entry document.
                string message = System.Text.RegularExpressions.Regex.Replace(error.Message, $"^{System.Text.RegularExpressions.Regex.Escape(path)}(:\\d+)?: ", "");
                if (!message.Contains("tls needs both", StringComparison.Ordinal)) errors.Add($"{path}:{line}: {message}");
            }
        }
    }

    public static void ApplyRelay(string path, RelayOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException error)
        {
            throw new ConfigException($"{path}: {error.Message}");
        }

        ApplyRelayText(text, path, Path.GetDirectoryName(Path.GetFullPath(path))!, options, replaceRules: true);
    }

    private static void ApplyRelayText(string text, string path, string baseDir, RelayOptions options, bool replaceRules)
    {
        RelayFile file;
        try
        {
            var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
            file = YamlReader.Deserialize<RelayFile>(deserializer, text) ?? new RelayFile();
        }
        catch (YamlException error)
        {
            string reason = error.InnerException?.Message ?? error.Message;
            var unknown = System.Text.RegularExpressions.Regex.Match(reason, "^Property '([^']+)' not found");
            if (unknown.Success) reason = $"unknown setting '{UnderscoredNamingConvention.Instance.Apply(unknown.Groups[1].Value)}'";
            throw new ConfigException($"{path}:{error.Start.Line}: {reason}");
        }

        if (file.DataDir is { } dataDir) options.DataDir = Path.Combine(baseDir, dataDir);
        if (file.Control is { } control) options.Control = SettingText.ParseEndPoint(control, "control");
        if (file.Ports is { } ports) (options.PortLow, options.PortHigh) = ParsePortRange(ports);
        if (file.PublicBind is { } bind) options.PublicBind = ParseAddress(bind, "public_bind");
        if (file.Tls?.Certificate is { } certificate) options.CertificatePath = Path.Combine(baseDir, certificate);
        if (file.Tls?.Key is { } key) options.KeyPath = Path.Combine(baseDir, key);
        if (file.AllowPlainData is { } plain) options.AllowPlainData = plain;
        if (file.AllowMux is { } mux) options.AllowMux = mux;
        if (file.HandshakeTimeout is { } handshake) options.HandshakeTimeout = SettingText.ParseDuration(handshake, "handshake_timeout");
        if (file.HelloTimeout is { } hello) options.HelloTimeout = SettingText.ParseDuration(hello, "hello_timeout");
        if (file.OtpTimeout is { } otpTimeout) options.OtpTimeout = SettingText.ParseDuration(otpTimeout, "otp_timeout");
        if (file.OtpLifetime is { } otpLifetime) options.OtpLifetime = SettingText.ParseDuration(otpLifetime, "otp_lifetime");
        if (file.PingInterval is { } interval) options.PingInterval = SettingText.ParseDuration(interval, "ping_interval");
        if (file.PingTimeout is { } timeout) options.PingTimeout = SettingText.ParseDuration(timeout, "ping_timeout");
        if (file.ClientWaitTimeout is { } wait) options.ClientWaitTimeout = SettingText.ParseDuration(wait, "client_wait_timeout");
        if (file.MaxWaitingClients is { } waiting) options.MaxWaitingClients = Positive(waiting, "max_waiting_clients");
        if (file.MaxClientsPerServer is { } clients) options.MaxClientsPerServer = Positive(clients, "max_clients_per_server");
        if (file.LogLevel is { } level)
        {
            options.LogLevel = SettingText.ParseLogLevel(level, path);
        }

        if (file.TrustedKeys?.Source is { } keys)
        {
            options.TrustedKeysSource = keys.Contains("://", StringComparison.Ordinal) ? keys : Path.Combine(baseDir, keys);
        }

        if (file.TrustedKeys?.Refresh is { } keysRefresh) options.TrustedKeysRefresh = SettingText.ParseDuration(keysRefresh, "trusted_keys.refresh");
        if (file.Otlp?.Endpoint is { } otlp)
        {
            options.OtlpEndpoint = Uri.TryCreate(otlp, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : throw new ConfigException($"{path}: otlp.endpoint: '{otlp}' is not an http(s) URL");
        }

        if (file.Otlp?.Interval is { } otlpInterval) options.OtlpInterval = SettingText.ParseDuration(otlpInterval, "otlp.interval");
        if (file.Metrics?.Listen is { } metrics) options.MetricsListen = SettingText.ParseEndPoint(metrics, "metrics.listen");
        if (file.MaxConnections is { } connections) options.MaxConnections = Positive(connections, "max_connections");
        if (file.MaxClientConnectionsPerIp is { } perIp) options.MaxClientConnectionsPerIp = Positive(perIp, "max_client_connections_per_ip");
        if (file.MaxPendingPerIp is { } pending) options.MaxPendingPerIp = Positive(pending, "max_pending_per_ip");
        options.DefaultRules = Rules(file.ClientAllow, file.ClientDeny, file.PairIdleTimeout, file.MaxPool,
            replaceRules ? new ServerRules() : options.DefaultRules, "");
        foreach (var (id, server) in file.Servers ?? [])
        {
            if (!Protocol.Auth.IsValidId(id)) throw new ConfigException($"{path}: servers: '{id}' is not a valid server id");
            options.Servers[id] = Rules(server.ClientAllow, server.ClientDeny, server.PairIdleTimeout, server.MaxPool,
                options.DefaultRules, $"servers.{id}.");
            if (DeclaredSecret(server, $"{path}: servers.{id}", baseDir) is { } secret)
            {
                options.Declared[id] = new DeclaredServer(id, secret, server.ClientPort, server.DataPort);
            }
            else if (server.ClientPort is not null || server.DataPort is not null)
            {
                throw new ConfigException($"{path}: servers.{id}: client_port and data_port declare a server, which needs secret, secret_file or secret_env");
            }
        }
        if ((options.CertificatePath is null) != (options.KeyPath is null))
        {
            throw new ConfigException($"{path}: tls needs both certificate and key");
        }
    }

    /// <summary>The effective settings as YAML (the relay holds no secrets in its file: they live in the registry).</summary>
    public static string Describe(RelayOptions o)
    {
        static string D(TimeSpan? t) => SettingText.FormatDuration(t);
        static string L(IReadOnlyList<string> list) => "[" + string.Join(", ", list) + "]";
        var text = new System.Text.StringBuilder();
        text.AppendLine($"data_dir: {o.DataDir}");
        text.AppendLine($"control: {o.Control}");
        text.AppendLine($"ports: {o.PortLow}-{o.PortHigh}");
        text.AppendLine($"public_bind: {o.EffectivePublicBind}");
        text.AppendLine(o.CertificatePath is null ? "# tls: none configured: a self-made certificate in data_dir" : $"tls: {{ certificate: {o.CertificatePath}, key: {o.KeyPath} }}");
        text.AppendLine($"allow_plain_data: {(o.AllowPlainData ? "true" : "false")}");
        text.AppendLine($"allow_mux: {(o.AllowMux ? "true" : "false")}");
        foreach (var (name, value) in new[]
        {
            ("handshake_timeout", o.HandshakeTimeout), ("hello_timeout", o.HelloTimeout), ("otp_timeout", o.OtpTimeout),
            ("otp_lifetime", o.OtpLifetime), ("ping_interval", o.PingInterval), ("ping_timeout", o.PingTimeout),
            ("client_wait_timeout", o.ClientWaitTimeout),
        })
        {
            text.AppendLine($"{name}: {D(value)}");
        }

        text.AppendLine($"max_waiting_clients: {o.MaxWaitingClients}");
        text.AppendLine($"max_connections: {o.MaxConnections}");
        text.AppendLine($"max_client_connections_per_ip: {o.MaxClientConnectionsPerIp}");
        text.AppendLine($"max_pending_per_ip: {o.MaxPendingPerIp}");
        text.AppendLine($"max_clients_per_server: {o.MaxClientsPerServer}");
        text.AppendLine($"max_pool: {o.DefaultRules.MaxPool}");
        text.AppendLine($"client_allow: {L(o.DefaultRules.ClientAllow)}");
        text.AppendLine($"client_deny: {L(o.DefaultRules.ClientDeny)}");
        text.AppendLine($"pair_idle_timeout: {D(o.DefaultRules.PairIdleTimeout)}");
        text.AppendLine(o.Servers.Count == 0 ? "servers: {}" : "servers:");
        foreach (var (id, r) in o.Servers.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            // A declared server's secret is masked: show what is set, never the value.
            string declared = o.Declared.TryGetValue(id, out var d)
                ? $"secret: '********', {(d.ClientPort is { } cp ? $"client_port: {cp}, " : "")}{(d.DataPort is { } dp ? $"data_port: {dp}, " : "")}"
                : "";
            text.AppendLine($"  {id}: {{ {declared}max_pool: {r.MaxPool}, client_allow: {L(r.ClientAllow)}, client_deny: {L(r.ClientDeny)}, pair_idle_timeout: {D(r.PairIdleTimeout)} }}");
        }

        text.AppendLine($"log_level: {o.LogLevel.ToString().ToLowerInvariant()}");
        text.AppendLine(o.OtlpEndpoint is null ? "# otlp: off" : $"otlp: {{ endpoint: {o.OtlpEndpoint}, interval: {D(o.OtlpInterval)} }}");
        text.Append(o.MetricsListen is null ? "# metrics: off" : $"metrics: {{ listen: {o.MetricsListen} }}");
        return text.ToString();
    }

    public static (int Low, int High) ParsePortRange(string text)
    {
        string[] parts = text.Split('-');
        if (parts.Length == 2 && int.TryParse(parts[0], out int low) && int.TryParse(parts[1], out int high)
            && low is > 0 and <= 65535 && high is > 0 and <= 65535 && low + 1 <= high)
        {
            return (low, high);
        }

        throw new ConfigException($"ports: '{text}' is not LOW-HIGH (1-65535, at least two ports)");
    }

    private static ServerRules Rules(List<string>? allow, List<string>? deny, string? idle, int? maxPool, ServerRules inherited, string prefix)
    {
        var rules = inherited with
        {
            ClientAllow = allow ?? inherited.ClientAllow,
            ClientDeny = deny ?? inherited.ClientDeny,
            PairIdleTimeout = idle switch
            {
                null => inherited.PairIdleTimeout,
                "off" => null,
                _ => SettingText.ParseDuration(idle, prefix + "pair_idle_timeout"),
            },
            MaxPool = maxPool is { } pool ? InRange(pool, Protocol.Wire.MinPool, Protocol.Wire.MaxPool, prefix + "max_pool") : inherited.MaxPool,
        };
        try
        {
            rules.ToAddressRules();
        }
        catch (FormatException error)
        {
            throw new ConfigException($"{prefix}client_allow/client_deny: {error.Message}");
        }

        return rules;
    }

    // A server is declared (registered from the file) when its entry has a secret.
    private static string? DeclaredSecret(ServerSection server, string where, string baseDir) =>
        ResolveSecret(server.Secret, server.SecretFile, server.SecretEnv, where, baseDir) is not { } secret ? null
        : secret.Length >= 16 ? secret
        : throw new ConfigException($"{where}: the secret must have at least 16 characters");

    /// <summary>
    /// A secret given in the file itself, in a file of its own, or in an environment variable (relay
    /// servers and agent tunnels alike); null when none of the three is given, an error if several are.
    /// </summary>
    public static string? ResolveSecret(string? secret, string? secretFile, string? secretEnv, string where, string baseDir)
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

    private static int InRange(int value, int low, int high, string what) =>
        value >= low && value <= high ? value : throw new ConfigException($"{what}: must be {low}-{high}");

    private static IPAddress ParseAddress(string text, string what) =>
        IPAddress.TryParse(text, out var address) ? address : throw new ConfigException($"{what}: '{text}' is not an IP address");

    private static int Positive(int value, string what) =>
        value > 0 ? value : throw new ConfigException($"{what}: must be positive");

    private sealed class RelayFile
    {
        public string? DataDir { get; set; }

        public string? Control { get; set; }

        public string? Ports { get; set; }

        public string? PublicBind { get; set; }

        public TlsSection? Tls { get; set; }

        public bool? AllowPlainData { get; set; }

        public bool? AllowMux { get; set; }

        public string? HandshakeTimeout { get; set; }

        public string? HelloTimeout { get; set; }

        public string? OtpTimeout { get; set; }

        public string? OtpLifetime { get; set; }

        public string? PingInterval { get; set; }

        public string? PingTimeout { get; set; }

        public string? ClientWaitTimeout { get; set; }

        public int? MaxWaitingClients { get; set; }

        public int? MaxPool { get; set; }

        public int? MaxClientsPerServer { get; set; }

        public int? MaxConnections { get; set; }

        public int? MaxClientConnectionsPerIp { get; set; }

        public int? MaxPendingPerIp { get; set; }

        public List<string>? ClientAllow { get; set; }

        public List<string>? ClientDeny { get; set; }

        public string? PairIdleTimeout { get; set; }

        public Dictionary<string, ServerSection>? Servers { get; set; }

        public MetricsSection? Metrics { get; set; }

        public OtlpSection? Otlp { get; set; }

        public TrustedKeysSection? TrustedKeys { get; set; }

        public string? LogLevel { get; set; }
    }

    private sealed class TrustedKeysSection
    {
        public string? Source { get; set; }

        public string? Refresh { get; set; }
    }

    private sealed class OtlpSection
    {
        public string? Endpoint { get; set; }

        public string? Interval { get; set; }
    }

    private sealed class MetricsSection
    {
        public string? Listen { get; set; }
    }

    private sealed class ServerSection
    {
        public string? Secret { get; set; }

        public string? SecretFile { get; set; }

        public string? SecretEnv { get; set; }

        public int? ClientPort { get; set; }

        public int? DataPort { get; set; }

        public int? MaxPool { get; set; }

        public List<string>? ClientAllow { get; set; }

        public List<string>? ClientDeny { get; set; }

        public string? PairIdleTimeout { get; set; }
    }

    private sealed class TlsSection
    {
        public string? Certificate { get; set; }

        public string? Key { get; set; }
    }
}
