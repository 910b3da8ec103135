// `gray agent`: one tunnel from flags and GRAY_* variables, or several from a YAML file.
using System.CommandLine;
using Gray.Hosting;
using Gray.Net;
using Gray.Agent;
using Microsoft.Extensions.DependencyInjection;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command AgentCommand()
    {
        var relay = new Option<string?>("--relay")
        {
            Description = "the relay: its control port HOST:PORT (tls://HOST:PORT), or a WebSocket on its web port, " +
                "wss://HOST/gray (or GRAY_RELAY); a cluster's nodes as HOST:PORT,HOST:PORT",
        };
        var maxNodes = new Option<string?>("--max-nodes")
        {
            Description = $"serve on at most this many nodes of a relay cluster (or GRAY_MAX_NODES; default " +
                $"{AgentOptions.DefaultMaxNodes})",
        };
        var id = new Option<string?>("--id") { Description = "server ID (or GRAY_ID)" };
        var secret = new Option<string?>("--secret")
        {
            Description = "the server's secret, from `gray admin add` (ps shows it: prefer --secret-file, GRAY_SECRET)",
        };
        var secretFile = new Option<string?>("--secret-file")
        {
            Description = "a file holding the server's secret (or GRAY_SECRET_FILE)",
        };
        var target = new Option<string?>("--target")
        {
            Description = "the private service HOST:PORT, udp://HOST:PORT for UDP, tcp+udp://HOST:PORT for both " +
                "(or GRAY_TARGET)",
        };
        var pool = new Option<int?>("--pool") { Description = "data connections kept ready (default 8, or GRAY_POOL)" };
        var fingerprint = new Option<string?>("--fingerprint")
        {
            Description = "the relay certificate's SHA-256 (or GRAY_FINGERPRINT; else trust on first use); A,B " +
                "accepts either, while a certificate is rolled",
        };
        var plainData = new Option<bool>("--plain-data")
        {
            Description = "plain TCP data connections, for services that encrypt on their own",
        };
        var mux = new Option<bool>("--mux")
        {
            Description = "carry many tunneled connections on each data connection, the default; --mux false: " +
                "one pooled data connection per client (or GRAY_MUX=0)",
        };
        var metrics = MetricsOption();
        var logFormat = LogFormatOption();
        var agentConfig = new Option<string?>("--config")
        {
            Description = "YAML file with the relay and several tunnels (reloaded on SIGHUP and on change)",
        };
        var otlp = new Option<string?>("--otlp")
        {
            Description = "push metrics over OTLP/HTTP to this URL (or GRAY_OTLP_ENDPOINT), e.g. http://collector:4318",
        };
        var key = new Option<string?>("--key")
        {
            Description =
                "PEM file with an ECDSA P-256 private key trusted by the relay, instead of --secret (or GRAY_KEY_FILE)",
        };
        var proxyProtocol = new Option<string?>("--proxy-protocol")
        {
            Description = "write a PROXY protocol header (v1 or v2) with the client's address to the target before " +
                "its bytes (or GRAY_PROXY_PROTOCOL)",
        };
        var proxy = new Option<string?>("--proxy")
        {
            Description = "reach the relay through this HTTP proxy (CONNECT): http://[user:pass@]host:port, " +
                "or direct (default: HTTPS_PROXY unless NO_PROXY names the relay)",
        };
        var command = new Command("agent", "Run the agent next to a private service.")
        {
            relay, maxNodes, id, secret, secretFile, target, pool, fingerprint, plainData, mux, metrics, logFormat,
            agentConfig, otlp, key, proxy, proxyProtocol,
        };
        command.SetAction(async (result, _) =>
        {
            var metricsListen = result.GetValue(metrics) is { } metricsText
                ? SettingText.ParseEndPoint(metricsText, "--metrics")
                : null;
            Uri? otlpEndpoint = (result.GetValue(otlp) ?? Environment.GetEnvironmentVariable("GRAY_OTLP_ENDPOINT"))
                is { Length: > 0 } otlpText
                ? Uri.TryCreate(otlpText, UriKind.Absolute, out var otlpUri) ? otlpUri
                    : throw new ConfigException($"--otlp: '{otlpText}' is not a URL")
                : null;
            string? configFile = result.GetValue(agentConfig)
                ?? (result.GetValue(relay) is null && Environment.GetEnvironmentVariable("GRAY_RELAY") is null
                    && File.Exists(DefaultConfigFile) ? DefaultConfigFile : null);
            string knownRelays = KnownRelaysPath(configFile);
            HttpConnectProxy? ProxyFor(string relayHost, string? fromFile) => ProxySettings.Resolve(
                result.GetValue(proxy) ?? fromFile, relayHost, Environment.GetEnvironmentVariable);
            if (configFile is { } file)
            {
                var (tunnelList, fileSettings) = AgentConfig.LoadWithSettings(file, knownRelays, ProxyFor);
                var source = new AgentConfigSource(file, () =>
                {
                    var (tunnels, settings) = AgentConfig.LoadWithSettings(file, knownRelays, ProxyFor);
                    return new AgentTunnels(tunnels, settings.LogLevel);
                });
                var setup = new AgentSetup(tunnelList, source, metricsListen ?? fileSettings.MetricsListen,
                    otlpEndpoint ?? fileSettings.OtlpEndpoint);
                return await HostRunner.RunAsync(
                    services => services.AddSingleton(setup).AddHostedService<AgentService>(),
                    HostRunner.ParseLogFormat(result.GetValue(logFormat)!), fileSettings.LogLevel)
                    .ConfigureAwait(false);
            }

            // Flag, then environment; the four without a default are required.
            string Setting(Option<string?> option, string variable, bool required = true) =>
                result.GetValue(option)
                    ?? (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null)
                ?? (required ? throw new ConfigException($"{option.Name} (or {variable}) is required") : null!);
            string? poolText = result.GetValue(pool)?.ToString() ?? Environment.GetEnvironmentVariable("GRAY_POOL");
            var relayAddress = RelayAddress.ParseList(Setting(relay, "GRAY_RELAY"), "--relay");
            TargetAddress? parsedTarget = null; // read where --target was read before: after --id
            TargetAddress Target() => parsedTarget ??= TargetAddress.Parse(Setting(target, "GRAY_TARGET"), "--target");
            RelayAddress.CheckPlainData(relayAddress.WebSocket, result.GetValue(plainData), "--plain-data");
            var options = new AgentOptions
            {
                Relay = relayAddress.EndPoint,
                MoreRelays = relayAddress.More ?? [],
                MaxNodes = Setting(maxNodes, "GRAY_MAX_NODES", required: false) is { } nodesText
                    ? AgentConfig.MaxNodes(nodesText, "--max-nodes") : AgentOptions.DefaultMaxNodes,
                RelayWebSocket = relayAddress.WebSocket,
                Proxy = ProxyFor(relayAddress.EndPoint.Host, null),
                Id = Setting(id, "GRAY_ID"),
                KeyFile = Setting(key, "GRAY_KEY_FILE", required: false),
                Secret = AgentSecret(result.GetValue(secret), Setting(secretFile, "GRAY_SECRET_FILE", required: false),
                    required: Setting(key, "GRAY_KEY_FILE", required: false) is null),
                Target = Target().EndPoint,
                TargetTcp = Target().Tcp,
                TargetUdp = Target().Udp,
                Pool = poolText is null ? 8
                    : int.TryParse(poolText, out int n) ? n
                    : throw new ConfigException($"--pool: '{poolText}' is not a number"),
                Fingerprint = Setting(fingerprint, "GRAY_FINGERPRINT", required: false),
                PlainData = result.GetValue(plainData),
                Mux = result.GetResult(mux) is { Implicit: false } ? result.GetValue(mux)
                    : Environment.GetEnvironmentVariable("GRAY_MUX") is not { Length: > 0 } muxText ? true
                    : RelaySettings.Bool(muxText, "GRAY_MUX"),
                KnownRelaysPath = knownRelays,
                ProxyProtocol = ProxyProtocolSetting.Parse(
                    Setting(proxyProtocol, "GRAY_PROXY_PROTOCOL", required: false), "--proxy-protocol"),
            };
            ProxyProtocolSetting.CheckTarget(options.ProxyProtocol, options.TargetUdp, "--proxy-protocol");
            if (options.Pool is < Protocol.Wire.MinPool or > Protocol.Wire.MaxPool)
            {
                throw new ConfigException($"--pool must be {Protocol.Wire.MinPool}-{Protocol.Wire.MaxPool}");
            }

            if (result.GetValue(secret) is not null)
            {
                Console.Error.WriteLine("gray agent: warning: --secret is visible to every local user in ps; " +
                    "use --secret-file or GRAY_SECRET");
            }

            var single = new AgentSetup([options], null, metricsListen, otlpEndpoint);
            return await HostRunner.RunAsync(services => services.AddSingleton(single).AddHostedService<AgentService>(),
                HostRunner.ParseLogFormat(result.GetValue(logFormat)!)).ConfigureAwait(false);
        });
        return command;
    }

    // One of --secret, GRAY_SECRET and --secret-file (or GRAY_SECRET_FILE); none only with a key.
    private static string AgentSecret(string? flag, string? file, bool required)
    {
        string? variable = Environment.GetEnvironmentVariable("GRAY_SECRET") is { Length: > 0 } value ? value : null;
        if ((flag ?? variable) is not null && file is not null)
        {
            throw new ConfigException("give the secret once: --secret (or GRAY_SECRET), or --secret-file");
        }

        return flag ?? variable ?? (file is not null ? Secrets.ReadFile(file, "--secret-file") : null)
            ?? (required ? throw new ConfigException("--secret, --secret-file or GRAY_SECRET is required " +
                "(or --key)") : "");
    }
}
