// `gray config show`: the effective relay settings as a YAML file that reads back the same, written
// through YamlDotNet's node model and emitter. Declared servers' secrets are masked.
using Gray.Hosting;
using Gray.Relay;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gray.Cli;

internal static class RelayConfigDescription
{
    private const string MaskedSecret = "********";

    public static string Describe(RelayOptions o)
    {
        var root = new YamlMappingNode
        {
            { "data_dir", o.DataDir },
            { "registry", o.Registry is { } registry ? Registry.Redact(registry) : "sqlite:" +
                Path.Combine(o.DataDir, Registry.FileName) },
            { "control", o.Control.ToString() },
            { "ports", $"{o.PortLow}-{o.PortHigh}" },
            { "public_bind", o.EffectivePublicBind.ToString() },
            { "http_port", o.HttpPort is { } httpPort ? Number(httpPort) : new YamlScalarNode("off") },
            { "https_port", o.HttpsPort is { } httpsPort ? Number(httpsPort) : new YamlScalarNode("off") },
        };
        if (o.Cluster is { } cluster)
        {
            root.Add("cluster", Flow(("node_id", cluster.NodeId), ("advertise", cluster.Advertise),
                ("heartbeat", SettingText.FormatDuration(cluster.HeartbeatInterval)),
                ("node_timeout", SettingText.FormatDuration(cluster.NodeTimeout))));
        }
        if (o.CertificatePath is not null)
        {
            root.Add("tls", Flow(("certificate", o.CertificatePath), ("key", o.KeyPath!)));
        }
        root.Add("allow_plain_data", Bool(o.AllowPlainData));
        root.Add("allow_mux", Bool(o.AllowMux));
        root.Add("handshake_timeout", SettingText.FormatDuration(o.HandshakeTimeout));
        root.Add("hello_timeout", SettingText.FormatDuration(o.HelloTimeout));
        root.Add("otp_timeout", SettingText.FormatDuration(o.OtpTimeout));
        root.Add("otp_lifetime", SettingText.FormatDuration(o.OtpLifetime));
        root.Add("ping_interval", SettingText.FormatDuration(o.PingInterval));
        root.Add("ping_timeout", SettingText.FormatDuration(o.PingTimeout));
        root.Add("client_wait_timeout", SettingText.FormatDuration(o.ClientWaitTimeout));
        root.Add("max_waiting_clients", Number(o.MaxWaitingClients));
        root.Add("max_connections", Number(o.MaxConnections));
        root.Add("max_client_connections_per_ip", Number(o.MaxClientConnectionsPerIp));
        root.Add("max_pending_per_ip", Number(o.MaxPendingPerIp));
        root.Add("max_clients", Number(o.EffectiveMaxClients));
        root.Add("max_clients_per_server", Number(o.EffectiveMaxClientsPerServer));
        root.Add("max_pending", Number(o.EffectiveMaxPending));
        root.Add("ipv4_prefix", Number(o.IPv4PrefixBits));
        root.Add("ipv6_prefix", Number(o.IPv6PrefixBits));
        AddRules(root, o.DefaultRules);
        if (o.DefaultRules.SeparateDataPort) root.Add("data_port", "separate");
        var servers = new YamlMappingNode();
        foreach (var (id, rules) in o.Servers.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var server = new YamlMappingNode { Style = YamlDotNet.Core.Events.MappingStyle.Flow };
            if (o.Declared.TryGetValue(id, out var declared))
            {
                server.Add("secret", new YamlScalarNode(MaskedSecret) { Style = ScalarStyle.SingleQuoted });
                if (declared.ClientPort is { } clientPort) server.Add("client_port", Number(clientPort));
                if (declared.DataPort is { } dataPort) server.Add("data_port", Number(dataPort));
                if (declared.Hosts.Count > 0)
                {
                    server.Add("hosts", new YamlSequenceNode(declared.Hosts.Select(h => new YamlScalarNode(h)))
                    {
                        Style = YamlDotNet.Core.Events.SequenceStyle.Flow,
                    });
                }
            }

            if (rules.SeparateDataPort && declared?.DataPort is null) server.Add("data_port", "separate");

            AddRules(server, rules);
            if (rules.HostHeader is { } hostHeader) server.Add("host_header", hostHeader);
            if (rules.HttpAuth is { } auth)
                server.Add("http_auth", Flow(("user", auth.User), ("password", MaskedSecret)));
            if (rules.Auth == ServerAuth.KeyOnly) server.Add("auth", "key");
            servers.Add(id, server);
        }

        root.Add("servers", servers.Children.Count == 0
            ? new YamlMappingNode { Style = YamlDotNet.Core.Events.MappingStyle.Flow }
            : servers);
        root.Add("log_level", o.LogLevel.ToString().ToLowerInvariant());
        if (o.OtlpEndpoint is not null)
        {
            root.Add("otlp", Flow(("endpoint", o.OtlpEndpoint.ToString()),
                ("interval", SettingText.FormatDuration(o.OtlpInterval))));
        }

        root.Add("http", o.HttpListen is null ? Flow(("listen", "off")) : Flow(
            ("listen", o.HttpListen.ToString()), ("tls", o.HttpTls ? "true" : "false"),
            ("agents", o.HttpAgents ? "true" : "false"),
            ("open", string.Join(", ", o.HttpOpen.Order(StringComparer.Ordinal)))));
        var writer = new StringWriter();
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        return writer.ToString().TrimEnd().TrimEnd('.').TrimEnd(); // no document end marker
    }

    private static void AddRules(YamlMappingNode node, ServerRules rules)
    {
        node.Add("max_pool", Number(rules.MaxPool));
        node.Add("client_allow", new YamlSequenceNode(rules.ClientAllow.Select(a => new YamlScalarNode(a)))
        {
            Style = YamlDotNet.Core.Events.SequenceStyle.Flow,
        });
        node.Add("client_deny", new YamlSequenceNode(rules.ClientDeny.Select(a => new YamlScalarNode(a)))
        {
            Style = YamlDotNet.Core.Events.SequenceStyle.Flow,
        });
        node.Add("pair_idle_timeout", SettingText.FormatDuration(rules.PairIdleTimeout));
        var b = rules.Bandwidth;
        if (!b.IsNone)
        {
            node.Add("bandwidth", Flow(("in", BandwidthSetting.Format(b.In)), ("out", BandwidthSetting.Format(b.Out)),
                ("per_client_in", BandwidthSetting.Format(b.PerClientIn)),
                ("per_client_out", BandwidthSetting.Format(b.PerClientOut))));
        }
    }

    private static YamlMappingNode Flow(params (string Key, string Value)[] entries)
    {
        var node = new YamlMappingNode { Style = YamlDotNet.Core.Events.MappingStyle.Flow };
        foreach (var (key, value) in entries) node.Add(key, value);
        return node;
    }

    private static YamlScalarNode Number(int value) =>
        new(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static YamlScalarNode Bool(bool value) => new(value ? "true" : "false");
}
