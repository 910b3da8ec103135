// The relay's settings by name: the one place that turns a setting's text into RelayOptions, for the
// YAML file and for GRAY_* variables alike (GRAY_ and the key in capitals, dots as underscores).
using System.Globalization;
using System.Net;
using Gray.Hosting;
using Gray.Protocol;
using Gray.Relay;

namespace Gray.Cli;

internal static class RelaySettings
{
    /// <summary>Applies one setting's text; relative paths are relative to <paramref name="baseDir"/>.</summary>
    public delegate void Apply(RelayOptions options, string value, string baseDir);

    /// <summary>Every setting with a single value, by its key in the file (sections joined with dots).</summary>
    public static readonly IReadOnlyDictionary<string, Apply> Single =
        new Dictionary<string, Apply>(StringComparer.Ordinal)
    {
        ["data_dir"] = (o, v, dir) => o.DataDir = Path.Combine(dir, v),
        ["registry"] = (o, v, dir) => o.Registry = v.StartsWith("sqlite:", StringComparison.Ordinal)
            ? "sqlite:" + Path.Combine(dir, v["sqlite:".Length..]) : Registry.CheckLocation(v),
        ["cluster.node_id"] = (o, v, _) => Cluster(o).NodeId = Gray.Protocol.Auth.IsValidId(v) ? v
            : throw new ConfigException($"cluster.node_id: '{Shorten(v)}' is not 1 to 64 of A-Z a-z 0-9 . _ -"),
        ["cluster.advertise"] = (o, v, _) => Cluster(o).Advertise = NodeAddress(v),
        ["cluster.heartbeat"] = (o, v, _) => Cluster(o).HeartbeatInterval =
            SettingText.ParseDuration(v, "cluster.heartbeat"),
        ["cluster.node_timeout"] = (o, v, _) => Cluster(o).NodeTimeout =
            SettingText.ParseDuration(v, "cluster.node_timeout"),
        ["control"] = (o, v, _) => o.Control = SettingText.ParseEndPoint(v, "control"),
        ["ports"] = (o, v, _) => (o.PortLow, o.PortHigh) = ParsePortRange(v),
        ["http_port"] = (o, v, _) => o.HttpPort = v == "off" ? null : Port(v, "http_port"),
        ["https_port"] = (o, v, _) => o.HttpsPort = v == "off" ? null : Port(v, "https_port"),
        ["public_bind"] = (o, v, _) => o.PublicBind = IPAddress.TryParse(v, out var address)
            ? address : throw new ConfigException($"public_bind: '{v}' is not an IP address"),
        ["tls.certificate"] = (o, v, dir) => o.CertificatePath = Path.Combine(dir, v),
        ["tls.key"] = (o, v, dir) => o.KeyPath = Path.Combine(dir, v),
        ["allow_plain_data"] = (o, v, _) => o.AllowPlainData = Bool(v, "allow_plain_data"),
        ["allow_mux"] = (o, v, _) => o.AllowMux = Bool(v, "allow_mux"),
        ["handshake_timeout"] = (o, v, _) => o.HandshakeTimeout = SettingText.ParseDuration(v, "handshake_timeout"),
        ["hello_timeout"] = (o, v, _) => o.HelloTimeout = SettingText.ParseDuration(v, "hello_timeout"),
        ["otp_timeout"] = (o, v, _) => o.OtpTimeout = SettingText.ParseDuration(v, "otp_timeout"),
        ["otp_lifetime"] = (o, v, _) => o.OtpLifetime = SettingText.ParseDuration(v, "otp_lifetime"),
        ["ping_interval"] = (o, v, _) => o.PingInterval = SettingText.ParseDuration(v, "ping_interval"),
        ["ping_timeout"] = (o, v, _) => o.PingTimeout = SettingText.ParseDuration(v, "ping_timeout"),
        ["client_wait_timeout"] = (o, v, _) =>
            o.ClientWaitTimeout = SettingText.ParseDuration(v, "client_wait_timeout"),
        ["udp_idle_timeout"] = (o, v, _) => o.UdpIdleTimeout = SettingText.ParseDuration(v, "udp_idle_timeout"),
        ["max_waiting_clients"] = (o, v, _) => o.MaxWaitingClients = Positive(v, "max_waiting_clients"),
        ["max_clients_per_server"] = (o, v, _) => o.MaxClientsPerServer = Positive(v, "max_clients_per_server"),
        ["max_clients"] = (o, v, _) => o.MaxClients = Positive(v, "max_clients"),
        ["max_pending"] = (o, v, _) => o.MaxPending = Positive(v, "max_pending"),
        ["ipv4_prefix"] = (o, v, _) => o.IPv4PrefixBits = PrefixBits(v, "ipv4_prefix", 32),
        ["ipv6_prefix"] = (o, v, _) => o.IPv6PrefixBits = PrefixBits(v, "ipv6_prefix", 128),
        ["max_connections"] = (o, v, _) => o.MaxConnections = Positive(v, "max_connections"),
        ["max_client_connections_per_ip"] = (o, v, _) =>
            o.MaxClientConnectionsPerIp = Positive(v, "max_client_connections_per_ip"),
        ["max_pending_per_ip"] = (o, v, _) => o.MaxPendingPerIp = Positive(v, "max_pending_per_ip"),
        ["log_level"] = (o, v, _) => o.LogLevel = SettingText.ParseLogLevel(v),
        ["trusted_keys.source"] = (o, v, dir) =>
            o.TrustedKeysSource = v.Contains("://", StringComparison.Ordinal) ? v : Path.Combine(dir, v),
        ["trusted_keys.refresh"] = (o, v, _) =>
            o.TrustedKeysRefresh = SettingText.ParseDuration(v, "trusted_keys.refresh"),
        ["trusted_keys.allow_http"] = (o, v, _) => o.TrustedKeysAllowHttp = Bool(v, "trusted_keys.allow_http"),
        ["otlp.endpoint"] = (o, v, _) => o.OtlpEndpoint = HttpUrl(v, "otlp.endpoint"),
        ["otlp.interval"] = (o, v, _) => o.OtlpInterval = SettingText.ParseDuration(v, "otlp.interval"),
        ["metrics.listen"] = (_, _, _) => throw new ConfigException(
            "metrics.listen: the relay serves /metrics on http.listen now (default 127.0.0.1:44580)"),
        ["http.listen"] = (o, v, _) =>
            o.HttpListen = v == "off" ? null : SettingText.ParseEndPoint(v, "http.listen", anyPort: true),
        ["http.tls"] = (o, v, _) => o.HttpTls = Bool(v, "http.tls"),
        ["http.agents"] = (o, v, _) => o.HttpAgents = Bool(v, "http.agents"),
        ["http.certificate"] = (o, v, dir) => o.HttpCertificatePath = Path.Combine(dir, v),
        ["http.key"] = (o, v, dir) => o.HttpKeyPath = Path.Combine(dir, v),
        ["http.open"] = (o, v, _) => o.HttpOpen = OpenEndpoints(v),
        ["max_pool"] = (o, v, _) => o.DefaultRules = o.DefaultRules with { MaxPool = Pool(v, "max_pool") },
        ["data_port"] = (o, v, _) => o.DefaultRules = o.DefaultRules with
        {
            SeparateDataPort = v switch
            {
                "separate" => true,
                "control" => false,
                _ => throw new ConfigException($"data_port: '{Shorten(v)}' is neither control nor separate"),
            },
        },
        ["pair_idle_timeout"] = (o, v, _) =>
            o.DefaultRules = o.DefaultRules with { PairIdleTimeout = IdleTimeout(v, "pair_idle_timeout") },
        ["bandwidth.in"] = (o, v, _) => SetBandwidth(o, "in", v),
        ["bandwidth.out"] = (o, v, _) => SetBandwidth(o, "out", v),
        ["bandwidth.per_client_in"] = (o, v, _) => SetBandwidth(o, "per_client_in", v),
        ["bandwidth.per_client_out"] = (o, v, _) => SetBandwidth(o, "per_client_out", v),
    };

    private static void SetBandwidth(RelayOptions options, string key, string text) =>
        options.DefaultRules = options.DefaultRules with
        {
            Bandwidth = BandwidthSetting.With(options.DefaultRules.Bandwidth, key, text, $"bandwidth.{key}"),
        };

    /// <summary>GRAY_* variables over what the file said; each names the variable when it is wrong.</summary>
    public static void ApplyEnvironment(RelayOptions options, Func<string, string?> variable, string workingDirectory)
    {
        foreach (var (key, apply) in Single)
        {
            string name = "GRAY_" + key.Replace('.', '_').ToUpperInvariant();
            if (variable(name) is not { Length: > 0 } value) continue;
            try
            {
                apply(options, value, workingDirectory);
            }
            catch (ConfigException error)
            {
                throw new ConfigException($"environment {name}: {error.Message}");
            }
        }
    }

    private static ClusterOptions Cluster(RelayOptions options) => options.Cluster ??= new ClusterOptions();

    // host:port, as an agent dials it: a name or an address, and a port.
    private static string NodeAddress(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535
            || System.Text.Encoding.UTF8.GetByteCount(text) > Wire.MaxNodeAddressBytes)
        {
            throw new ConfigException($"cluster.advertise: '{Shorten(text)}' is not HOST:PORT (agents dial it)");
        }

        return text;
    }

    /// <summary>The endpoints http.open may leave without a token.</summary>
    private static readonly string[] Openable = ["metrics", "healthz", "readyz"];

    private static HashSet<string> OpenEndpoints(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in names)
        {
            if (!Openable.Contains(name))
            {
                throw new ConfigException($"http.open: '{Shorten(name)}' is none of {string.Join(", ", Openable)}");
            }
        }

        return [.. names];
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

    public static int Positive(string text, string key) =>
        Integer(text, key) is var value and > 0 ? value : throw new ConfigException($"{key}: must be positive");

    private static int PrefixBits(string text, string key, int most) =>
        Integer(text, key) is var value and >= 8 && value <= most
            ? value
            : throw new ConfigException($"{key}: must be 8-{most} (prefix bits)");

    public static int Pool(string text, string key) =>
        Integer(text, key) is var value and >= Wire.MinPool and <= Wire.MaxPool
            ? value
            : throw new ConfigException($"{key}: must be {Wire.MinPool}-{Wire.MaxPool}");

    public static int Port(string text, string key) =>
        Integer(text, key) is var value and > 0 and <= 65535
            ? value : throw new ConfigException($"{key}: must be 1-65535");

    public static TimeSpan? IdleTimeout(string text, string key) =>
        text == "off" ? null : SettingText.ParseDuration(text, key);

    public static bool Bool(string text, string key) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new ConfigException($"{key}: '{text}' is neither true nor false"),
    };

    private static int Integer(string text, string key) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new ConfigException($"{key}: '{Shorten(text)}' is not a whole number");

    private static Uri HttpUrl(string text, string key) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ConfigException($"{key}: '{Shorten(text)}' is not an http(s) URL");

    /// <summary>A value as an error quotes it: huge ones cut, so that one bad line cannot flood the output.</summary>
    public static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
