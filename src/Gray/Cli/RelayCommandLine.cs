// `gray relay`: flags over environment over file over defaults, read again on every reload.
using System.CommandLine;
using Gray.Hosting;
using Gray.Relay;
using Microsoft.Extensions.DependencyInjection;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command RelayCommand()
    {
        var config = new Option<string?>("--config") { Description = "YAML config file (gray.yaml)" };
        var dataDir = new Option<string?>("--data-dir")
        {
            Description = $"registry, certificate and admin token (default {DefaultDataDir})",
        };
        var control = new Option<string?>("--control") { Description = "TLS control address (default 0.0.0.0:44555)" };
        var ports = new Option<string?>("--ports")
        {
            Description = "range for client and data ports (default 20000-29999)",
        };
        var noConsole = new Option<bool>("--no-console") { Description = "do not read /commands from the terminal" };
        var maxConnections = new Option<int?>("--max-connections")
        {
            Description = "all connections at once (default 1000; env GRAY_MAX_CONNECTIONS)",
        };
        var http = new Option<string?>("--http")
        {
            Description = "control plane (API, /metrics, dashboard) address, or off (default 127.0.0.1:44580)",
        };
        var logFormat = LogFormatOption();
        var relayOtlp = new Option<string?>("--otlp")
        {
            Description = "push metrics over OTLP/HTTP to this URL (config otlp.endpoint)",
        };
        var command = new Command("relay", "Run the public relay.")
        {
            config, dataDir, control, ports, noConsole, maxConnections, http, logFormat, relayOtlp,
        };
        command.SetAction(async (result, _) =>
        {
            // Flags, then environment, then file, then defaults: read again on every reload.
            string? configFile = result.GetValue(config) ?? (File.Exists(DefaultConfigFile) ? DefaultConfigFile : null);
            RelayOptions Load()
            {
                var options = new RelayOptions();
                if (configFile is { } file) RelayConfigFile.Apply(file, options);
                RelaySettings.ApplyEnvironment(options, Environment.GetEnvironmentVariable,
                    Environment.CurrentDirectory);
                if (result.GetValue(dataDir) is { } dir) options.DataDir = dir;
                if (result.GetValue(control) is { } address)
                {
                    options.Control = SettingText.ParseEndPoint(address, "--control");
                }
                if (result.GetValue(ports) is { } range)
                {
                    (options.PortLow, options.PortHigh) = RelaySettings.ParsePortRange(range);
                }
                if (result.GetValue(noConsole)) options.Console = false;

                if (result.GetValue(http) is { } httpAddress)
                {
                    options.HttpListen = httpAddress == "off"
                        ? null : SettingText.ParseEndPoint(httpAddress, "--http", anyPort: true);
                }
                if (result.GetValue(relayOtlp) is { } otlpText)
                {
                    options.OtlpEndpoint = Uri.TryCreate(otlpText, UriKind.Absolute, out var otlpUri)
                        ? otlpUri : throw new ConfigException($"--otlp: '{otlpText}' is not a URL");
                }
                if (result.GetValue(maxConnections) is { } max)
                {
                    options.MaxConnections = max > 0
                        ? max : throw new ConfigException("--max-connections must be positive");
                }

                return options;
            }

            var options = Load();
            var source = new RelayConfigSource(configFile, Load);
            return await HostRunner.RunAsync(services =>
                services.AddSingleton(options).AddSingleton(source).AddHostedService<RelayService>(),
                HostRunner.ParseLogFormat(result.GetValue(logFormat)!)).ConfigureAwait(false);
        });
        return command;
    }
}
