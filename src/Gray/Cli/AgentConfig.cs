// An agent's YAML file: one relay, several tunnels, read through the node model; every error names
// its line. Secrets come from the file, a file of their own, or an environment variable.
using System.Net;
using Gray.Agent;
using Gray.Hosting;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using YamlDotNet.RepresentationModel;

namespace Gray.Cli;

/// <summary>What an agent file says besides its tunnels.</summary>
public sealed record AgentFileSettings(IPEndPoint? MetricsListen, Uri? OtlpEndpoint, LogLevel? LogLevel);

public static class AgentConfig
{
    private const int DefaultPool = 8;

    /// <summary>The tunnels a file declares, each as the options of one agent.</summary>
    public static IReadOnlyList<AgentOptions> Load(string path, string knownRelaysPath) =>
        LoadWithSettings(path, knownRelaysPath).Tunnels;

    /// <summary>Decides the proxy to a relay host, given the file's proxy setting (or null).</summary>
    public delegate Gray.Net.HttpConnectProxy? ProxyChoice(string relayHost, string? fromFile);

    /// <summary>The tunnels and the process-wide settings (metrics, OTLP, log level) of an agent file.</summary>
    public static (IReadOnlyList<AgentOptions> Tunnels, AgentFileSettings Settings) LoadWithSettings(string path,
        string knownRelaysPath, ProxyChoice? proxyChoice = null)
    {
        string? proxy = null;
        var file = ConfigDocument.Read(path);
        var tunnels = new List<AgentOptions>();
        RelayAddress? relay = null;
        string? fingerprint = null;
        int maxNodes = AgentOptions.DefaultMaxNodes;
        IPEndPoint? metrics = null;
        Uri? otlp = null;
        LogLevel? level = null;
        YamlMappingNode? tunnelEntries = null;
        YamlNode? tunnelsKey = null;
        foreach (var (key, keyNode, value) in file.Root is { } root ? ConfigDocument.Entries(root) : [])
        {
            file.Try(keyNode, () =>
            {
                switch (key)
                {
                    case "relay": relay = RelayAddress.ParseList(Required(value, key), "relay"); break;
                    case "max_nodes": maxNodes = MaxNodes(Required(value, key), key); break;
                    case "fingerprint": fingerprint = ConfigDocument.Scalar(value, key); break;
                    case "proxy": proxy = Required(value, key); ProxySettings.Parse(proxy, key); break;
                    case "log_level": level = SettingText.ParseLogLevel(Required(value, key)); break;
                    case "metrics":
                        metrics = Child(value, key, "listen") is { } listen
                            ? SettingText.ParseEndPoint(listen, "metrics.listen")
                            : null;
                        break;
                    case "otlp": otlp = Child(value, key, "endpoint") is { } endpoint ? Url(endpoint) : null; break;
                    case "tunnels": tunnelsKey = keyNode; tunnelEntries = ConfigDocument.Mapping(value, key); break;
                    default: throw new ConfigException($"unknown setting '{key}'");
                }
            });
        }

        if (file.Errors.Count == 0 && file.Root is not null)
        {
            if (relay is null) file.Error(file.Root, "relay: HOST:PORT (or wss://HOST/gray) is required");
            if (tunnelEntries is not { Children.Count: > 0 })
            {
                file.Error(tunnelsKey ?? file.Root, "tunnels: declare at least one");
            }
        }

        foreach (var (id, idNode, entry) in
            relay is null || tunnelEntries is null ? [] : ConfigDocument.Entries(tunnelEntries))
        {
            file.Try(idNode, () => tunnels.Add(Tunnel(file, id, entry, relay!.Value, fingerprint, knownRelaysPath,
                (proxyChoice ?? ((host, fromFile) => ProxySettings.Resolve(fromFile, host, _ => null)))(
                    relay!.Value.EndPoint.Host, proxy)) with { MaxNodes = maxNodes }));
        }

        if (file.Root is null && file.Errors.Count == 0) file.Errors.Add($"{path}:1: relay: HOST:PORT is required");
        file.ThrowIfAny();
        return (tunnels, new AgentFileSettings(metrics, otlp, level));
    }

    private static AgentOptions Tunnel(ConfigDocument file, string id, YamlNode entry, RelayAddress relay,
        string? fingerprint, string knownRelaysPath, Gray.Net.HttpConnectProxy? proxy)
    {
        string where = $"tunnels.{id}";
        if (!Auth.IsValidId(id)) throw new ConfigException($"{where}: not a valid server id");
        string? target = null, secret = null, secretFile = null, secretEnv = null, keyFile = null;
        int pool = DefaultPool;
        bool plainData = false, mux = true;
        var proxyProtocol = ProxyProtocolVersion.None;
        string? protocol = null;
        foreach (var (key, keyNode, value) in
            ConfigDocument.Mapping(entry, where) is { } settings ? ConfigDocument.Entries(settings) : [])
        {
            string name = $"{where}.{key}";
            file.Try(keyNode, () =>
            {
                switch (key)
                {
                    case "target": target = Required(value, name); break;
                    case "protocol": protocol = Required(value, name); break;
                    case "secret": secret = Required(value, name); break;
                    case "secret_file": secretFile = Required(value, name); break;
                    case "secret_env": secretEnv = Required(value, name); break;
                    case "key_file": keyFile = Path.Combine(file.BaseDir, Required(value, name)); break;
                    case "pool": pool = RelaySettings.Pool(Required(value, name), name); break;
                    case "plain_data":
                        plainData = RelaySettings.Bool(Required(value, name), name);
                        RelayAddress.CheckPlainData(relay.WebSocket, plainData, name);
                        break;
                    case "mux": mux = RelaySettings.Bool(Required(value, name), name); break;
                    case "proxy_protocol": proxyProtocol = ProxyProtocolSetting.Parse(Required(value, name), name);
                        break;
                    default: throw new ConfigException($"unknown setting '{name}'");
                }
            });
        }

        // protocol: udp (or tcp, tcp+udp) says what target: HOST:PORT takes, as a scheme would.
        var targetAddress = TargetAddress.Parse(
            (protocol is null ? "" : protocol + "://")
                + (target ?? throw new ConfigException($"{where}: target is required")), $"{where}.target");
        ProxyProtocolSetting.CheckTarget(proxyProtocol, targetAddress.Udp, $"{where}.proxy_protocol");
        return new AgentOptions
        {
            Relay = relay.EndPoint,
            MoreRelays = relay.More ?? [],
            RelayWebSocket = relay.WebSocket,
            Id = id,
            Secret = keyFile is null
                ? Secrets.Resolve(secret, secretFile, secretEnv, where, file.BaseDir)
                    ?? throw new ConfigException(
                        $"{where}: give exactly one of secret, secret_file, secret_env (or key_file)")
                : "",
            KeyFile = keyFile,
            Target = targetAddress.EndPoint,
            TargetTcp = targetAddress.Tcp,
            TargetUdp = targetAddress.Udp,
            Pool = pool,
            Fingerprint = fingerprint,
            PlainData = plainData,
            Mux = mux,
            ProxyProtocol = proxyProtocol,
            KnownRelaysPath = knownRelaysPath,
            Proxy = proxy,
        };
    }

    /// <summary>max_nodes / --max-nodes: how many cluster nodes an agent serves on at most.</summary>
    public static int MaxNodes(string text, string what) =>
        int.TryParse(text, out int n) && n is >= 1 and <= Wire.MaxClusterNodes ? n
            : throw new ConfigException($"{what}: '{RelaySettings.Shorten(text)}' is not 1-{Wire.MaxClusterNodes}");

    private static string Required(YamlNode value, string key) =>
        ConfigDocument.Scalar(value, key) ?? throw new ConfigException($"{key}: needs a value");

    /// <summary>The one setting of a section such as metrics: { listen: … }.</summary>
    private static string? Child(YamlNode value, string section, string child)
    {
        if (ConfigDocument.Mapping(value, section) is not { } mapping) return null;
        string? found = null;
        foreach (var (key, _, childValue) in ConfigDocument.Entries(mapping))
        {
            if (key != child) throw new ConfigException($"unknown setting '{section}.{key}'");
            found = ConfigDocument.Scalar(childValue, $"{section}.{child}");
        }

        return found;
    }

    private static Uri Url(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
            ? uri : throw new ConfigException($"otlp.endpoint: '{RelaySettings.Shorten(text)}' is not a URL");
}
