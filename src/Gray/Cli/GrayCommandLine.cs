// The command line (a contract: see the README): relay, agent and admin, with System.CommandLine.
using System.CommandLine;
using System.Text.Json;
using Gray.Admin;
using Gray.Agent;
using Gray.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Cli;

public static class GrayCommandLine
{
    private const string DefaultDataDir = "./gray-data";

    /// <summary>Read when --config is not given and the file exists (one per role).</summary>
    private const string DefaultConfigFile = "gray.yaml";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["--version"])
        {
            Console.WriteLine(LongVersion());
            return ExitCodes.Ok;
        }

        try
        {
            ConfigFile.LoadDotEnv(Path.Combine(Environment.CurrentDirectory, ".env")); // as the seed does; never overrides
        }
        catch (ConfigException error)
        {
            Console.Error.WriteLine($"gray: {error.Message}");
            return ExitCodes.Usage;
        }

        var root = new RootCommand("Gray: offer a TCP service from a private (gray) address through a public relay.")
        {
            RelayCommand(),
            AgentCommand(),
            AdminCommand(),
            ConfigCommand(),
        };
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var error in parsed.Errors) Console.Error.WriteLine($"gray: {error.Message}");
                return ExitCodes.Usage;
            }

            // Signals belong to the Generic Host (graceful stop); errors to the handlers below.
            var invocation = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
        }
        catch (ConfigException error)
        {
            Console.Error.WriteLine($"gray: {error.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception error)
        {
            Console.Error.WriteLine($"gray: unexpected error: {error}");
            return ExitCodes.Failure;
        }
    }

    private static Command RelayCommand()
    {
        var config = new Option<string?>("--config") { Description = "YAML config file (gray.yaml)" };
        var dataDir = new Option<string?>("--data-dir") { Description = $"registry, certificate and admin endpoint (default {DefaultDataDir})" };
        var control = new Option<string?>("--control") { Description = "TLS control address (default 0.0.0.0:44555)" };
        var ports = new Option<string?>("--ports") { Description = "range for client and data ports (default 20000-29999)" };
        var noConsole = new Option<bool>("--no-console") { Description = "do not read /commands from the terminal" };
        var maxConnections = new Option<int?>("--max-connections") { Description = "all connections at once (default 1000; env GRAY_MAX_CONNECTIONS)" };
        var metrics = MetricsOption();
        var logFormat = LogFormatOption();
        var relayOtlp = new Option<string?>("--otlp") { Description = "push metrics over OTLP/HTTP to this URL (config otlp.endpoint)" };
        var command = new Command("relay", "Run the public relay.") { config, dataDir, control, ports, noConsole, maxConnections, metrics, logFormat, relayOtlp };
        command.SetAction(async (result, _) =>
        {
            // Flags, then environment, then file, then defaults: read again on every reload.
            string? configFile = result.GetValue(config) ?? (File.Exists(DefaultConfigFile) ? DefaultConfigFile : null);
            RelayOptions Load()
            {
                var options = new RelayOptions();
                if (configFile is { } file) ConfigFile.ApplyRelay(file, options);
                ConfigFile.ApplyRelayEnvironment(options);
                if (result.GetValue(dataDir) is { } dir) options.DataDir = dir;
                if (result.GetValue(control) is { } address) options.Control = ConfigFile.ParseEndPoint(address, "--control");
                if (result.GetValue(ports) is { } range) (options.PortLow, options.PortHigh) = ConfigFile.ParsePortRange(range);
                if (result.GetValue(noConsole)) options.Console = false;

                if (result.GetValue(metrics) is { } metricsAddress) options.MetricsListen = ConfigFile.ParseEndPoint(metricsAddress, "--metrics");
                if (result.GetValue(relayOtlp) is { } otlpText)
                {
                    options.OtlpEndpoint = Uri.TryCreate(otlpText, UriKind.Absolute, out var otlpUri) ? otlpUri : throw new ConfigException($"--otlp: '{otlpText}' is not a URL");
                }
                if (result.GetValue(maxConnections) is { } max)
                {
                    options.MaxConnections = max > 0 ? max : throw new ConfigException("--max-connections must be positive");
                }

                return options;
            }

            var options = Load();
            var source = new RelayConfigSource(configFile, Load);
            return await Hosting.RunAsync(services => services.AddSingleton(options).AddSingleton(source).AddHostedService<RelayService>(),
                Hosting.ParseLogFormat(result.GetValue(logFormat)!)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command AgentCommand()
    {
        var relay = new Option<string?>("--relay") { Description = "relay control address HOST:PORT (or GRAY_RELAY)" };
        var id = new Option<string?>("--id") { Description = "server ID (or GRAY_ID)" };
        var secret = new Option<string?>("--secret") { Description = "the server's secret, from `gray admin add` (or GRAY_SECRET, which ps cannot show)" };
        var target = new Option<string?>("--target") { Description = "the private service HOST:PORT (or GRAY_TARGET)" };
        var pool = new Option<int?>("--pool") { Description = "data connections kept ready (default 8, or GRAY_POOL)" };
        var fingerprint = new Option<string?>("--fingerprint") { Description = "the relay certificate's SHA-256 (or GRAY_FINGERPRINT; else trust on first use)" };
        var plainData = new Option<bool>("--plain-data") { Description = "plain TCP data connections, for services that encrypt on their own" };
        var mux = new Option<bool>("--mux") { Description = "carry many tunneled connections on each data connection (no handshake per client; or GRAY_MUX=1)" };
        var metrics = MetricsOption();
        var logFormat = LogFormatOption();
        var agentConfig = new Option<string?>("--config") { Description = "YAML file with the relay and several tunnels (reloaded on SIGHUP and on change)" };
        var otlp = new Option<string?>("--otlp") { Description = "push metrics over OTLP/HTTP to this URL (or GRAY_OTLP_ENDPOINT), e.g. http://collector:4318" };
        var key = new Option<string?>("--key") { Description = "PEM file with an ECDSA P-256 private key trusted by the relay, instead of --secret (or GRAY_KEY_FILE)" };
        var command = new Command("agent", "Run the agent next to a private service.")
        {
            relay, id, secret, target, pool, fingerprint, plainData, mux, metrics, logFormat, agentConfig, otlp, key,
        };
        command.SetAction(async (result, _) =>
        {
            var metricsListen = result.GetValue(metrics) is { } metricsText ? ConfigFile.ParseEndPoint(metricsText, "--metrics") : null;
            Uri? otlpEndpoint = (result.GetValue(otlp) ?? Environment.GetEnvironmentVariable("GRAY_OTLP_ENDPOINT")) is { Length: > 0 } otlpText
                ? Uri.TryCreate(otlpText, UriKind.Absolute, out var otlpUri) ? otlpUri : throw new ConfigException($"--otlp: '{otlpText}' is not a URL")
                : null;
            string? configFile = result.GetValue(agentConfig)
                ?? (result.GetValue(relay) is null && Environment.GetEnvironmentVariable("GRAY_RELAY") is null && File.Exists(DefaultConfigFile) ? DefaultConfigFile : null);
            if (configFile is { } file)
            {
                var (tunnelList, fileSettings) = AgentConfig.LoadWithSettings(file);
                if (fileSettings.LogLevel is { } fileLevel && Environment.GetEnvironmentVariable("GRAY_LOG_LEVEL") is null) Hosting.MinimumLevel = fileLevel;
                var setup = new AgentSetup(tunnelList, file, metricsListen ?? fileSettings.MetricsListen, otlpEndpoint ?? fileSettings.OtlpEndpoint);
                return await Hosting.RunAsync(services => services.AddSingleton(setup).AddHostedService<AgentService>(),
                    Hosting.ParseLogFormat(result.GetValue(logFormat)!)).ConfigureAwait(false);
            }

            // Flag, then environment; the four without a default are required.
            string Setting(Option<string?> option, string variable, bool required = true) =>
                result.GetValue(option) ?? (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null)
                ?? (required ? throw new ConfigException($"{option.Name} (or {variable}) is required") : null!);
            string? poolText = result.GetValue(pool)?.ToString() ?? Environment.GetEnvironmentVariable("GRAY_POOL");
            var options = new AgentOptions
            {
                Relay = Endpoints.ParseHostPort(Setting(relay, "GRAY_RELAY"), "--relay"),
                Id = Setting(id, "GRAY_ID"),
                KeyFile = Setting(key, "GRAY_KEY_FILE", required: false),
                Secret = Setting(secret, "GRAY_SECRET", required: Setting(key, "GRAY_KEY_FILE", required: false) is null) ?? "",
                Target = Endpoints.ParseHostPort(Setting(target, "GRAY_TARGET"), "--target"),
                Pool = poolText is null ? 8 : int.TryParse(poolText, out int n) ? n : throw new ConfigException($"--pool: '{poolText}' is not a number"),
                Fingerprint = Setting(fingerprint, "GRAY_FINGERPRINT", required: false),
                PlainData = result.GetValue(plainData),
                Mux = result.GetValue(mux) || Environment.GetEnvironmentVariable("GRAY_MUX") is "1" or "true",
            };
            if (options.Pool is < Protocol.Wire.MinPool or > Protocol.Wire.MaxPool)
            {
                throw new ConfigException($"--pool must be {Protocol.Wire.MinPool}-{Protocol.Wire.MaxPool}");
            }

            var single = new AgentSetup([options], null, metricsListen, otlpEndpoint);
            return await Hosting.RunAsync(services => services.AddSingleton(single).AddHostedService<AgentService>(),
                Hosting.ParseLogFormat(result.GetValue(logFormat)!)).ConfigureAwait(false);
        });
        return command;
    }

    private static Command ConfigCommand()
    {
        var command = new Command("config", "Check or show a relay configuration file.");
        var checkFile = new Argument<string>("FILE") { Description = "the YAML file" };
        var check = new Command("check", "Validate a relay or agent file (an agent file has tunnels:); each error names its line. Exit 0 if valid, 2 if not.") { checkFile };
        check.SetAction(result =>
        {
            string file = result.GetValue(checkFile)!;
            bool agentFile = File.Exists(file) && File.ReadLines(file).Any(l => l.StartsWith("tunnels:", StringComparison.Ordinal));
            if (agentFile)
            {
                var tunnels = AgentConfig.Load(file); // throws ConfigException, exit 2
                Console.WriteLine($"{file}: valid agent file, tunnels {string.Join(", ", tunnels.Select(t => t.Id))}");
            }
            else
            {
                var errors = ConfigFile.CheckRelay(file);
                foreach (string error in errors) Console.Error.WriteLine(error);
                if (errors.Count > 0) return ExitCodes.Usage;
                Console.WriteLine($"{file}: valid");
            }

            return ExitCodes.Ok;
        });

        var showFile = new Argument<string?>("FILE") { Description = "the YAML file (default: none, only defaults)", Arity = ArgumentArity.ZeroOrOne };
        var show = new Command("show", "Print the effective relay settings: defaults, then the file, then the environment.") { showFile };
        show.SetAction(result =>
        {
            var options = new RelayOptions();
            if (result.GetValue(showFile) is { } file) ConfigFile.ApplyRelay(file, options);
            ConfigFile.ApplyRelayEnvironment(options);
            Console.WriteLine(ConfigFile.Describe(options));
            return ExitCodes.Ok;
        });

        command.Subcommands.Add(check);
        command.Subcommands.Add(show);
        return command;
    }

    private static Command AdminCommand()
    {
        var command = new Command("admin", "Manage a running relay through its local admin endpoint.");

        var addId = new Argument<string>("ID") { Description = "server ID" };
        var clientPort = new Option<int?>("--client-port") { Description = "public client port (default: allocated)" };
        var dataPort = new Option<int?>("--data-port") { Description = "data port (default: allocated)" };
        var addJson = JsonOption();
        var addDir = DataDirOption();
        var add = new Command("add", "Register a server; prints its ports and its secret (shown once).") { addId, clientPort, dataPort, addJson, addDir };
        add.SetAction((result, ct) => AdminAsync(result.GetValue(addDir)!, new AdminRequest("", "add", result.GetValue(addId), result.GetValue(clientPort), result.GetValue(dataPort)), response =>
        {
            var s = response.Server!;
            if (result.GetValue(addJson)) return JsonSerializer.Serialize(new AddedServerJson(s.Id, s.ClientPort, s.DataPort, s.Secret), AdminJson.Context.AddedServerJson);
            return $"id:          {s.Id}\nclient port: {s.ClientPort}\ndata port:   {s.DataPort}\nsecret:      {s.Secret}\n(the secret is shown only once)";
        }, ct));

        var showJson = JsonOption();
        var showDir = DataDirOption();
        var show = new Command("show", "List servers and whether their agent is connected.") { showJson, showDir };
        show.SetAction((result, ct) => AdminAsync(result.GetValue(showDir)!, new AdminRequest("", "show"), response =>
        {
            var servers = response.Servers ?? [];
            if (result.GetValue(showJson))
            {
                var entries = servers.Select(s => new ServerListEntryJson(s.Id, s.ClientPort, s.DataPort, s.Connected == true,
                    s.PoolReady ?? 0, s.ActivePairs ?? 0, s.Draining == true, s.Rules, response.Limits)).ToList();
                return JsonSerializer.Serialize(entries, AdminJson.Context.ListServerListEntryJson);
            }

            var l = response.Limits!;
            string header = $"connections {l.Connections}/{l.MaxConnections}, per client IP {l.MaxClientConnectionsPerIp}, " +
                $"pending per IP {l.MaxPendingPerIp}; deadlines: TLS {l.HandshakeTimeout}, hello {l.HelloTimeout}, OTP {l.OtpTimeout}, " +
                $"client wait {l.ClientWaitTimeout} (max {l.MaxWaitingClients} waiting){(l.DrainAll ? "; DRAINING ALL" : "")}";
            return servers.Count == 0 ? header + "\nno servers" : string.Join('\n', new[] { header, $"{"ID",-24} {"CLIENT",-6} {"DATA",-6} {"AGENT",-9} {"READY",-5} {"PAIRS",-5} {"DRAIN",-5} RULES" }
                .Concat(servers.Select(s => $"{s.Id,-24} {s.ClientPort,-6} {s.DataPort,-6} {(s.Connected == true ? "connected" : "offline"),-9} " +
                    $"{s.PoolReady,-5} {s.ActivePairs,-5} {(s.Draining == true ? "yes" : "no"),-5} " +
                    $"pool<={s.Rules!.MaxPool} allow=[{string.Join(',', s.Rules.ClientAllow)}] deny=[{string.Join(',', s.Rules.ClientDeny)}] idle={s.Rules.PairIdleTimeout}")));
        }, ct));

        var deleteId = new Argument<string>("ID") { Description = "server ID" };
        var deleteDir = DataDirOption();
        var delete = new Command("delete", "Remove a server, drop its agent and free its ports.") { deleteId, deleteDir };
        delete.SetAction((result, ct) => AdminAsync(result.GetValue(deleteDir)!, new AdminRequest("", "delete", result.GetValue(deleteId)), _ => $"deleted {result.GetValue(deleteId)}", ct));

        var shutdownDir = DataDirOption();
        var shutdown = new Command("shutdown", "Stop the relay gracefully.") { shutdownDir };
        shutdown.SetAction((result, ct) => AdminAsync(result.GetValue(shutdownDir)!, new AdminRequest("", "shutdown"), _ => "relay shutting down", ct));

        var fingerprintDir = DataDirOption();
        var fingerprint = new Command("fingerprint", "Print the relay certificate's SHA-256, in the form --fingerprint takes.") { fingerprintDir };
        fingerprint.SetAction((result, ct) => AdminAsync(result.GetValue(fingerprintDir)!, new AdminRequest("", "fingerprint"), r => r.Fingerprint!, ct));

        var drainId = new Argument<string?>("ID") { Description = "server ID", Arity = ArgumentArity.ZeroOrOne };
        var drainAll = new Option<bool>("--all") { Description = "every server" };
        var drainDir = DataDirOption();
        var drain = new Command("drain", "Refuse new clients (one server or --all); running pairs finish.") { drainId, drainAll, drainDir };
        drain.SetAction((result, ct) => AdminAsync(result.GetValue(drainDir)!, new AdminRequest("", "drain", OneOrAll(result.GetValue(drainId), result.GetValue(drainAll))),
            _ => $"draining {result.GetValue(drainId) ?? "every server"}", ct));

        var resumeId = new Argument<string?>("ID") { Description = "server ID (default: all)", Arity = ArgumentArity.ZeroOrOne };
        var resumeAll = new Option<bool>("--all") { Description = "every server" };
        var resumeDir = DataDirOption();
        var resume = new Command("resume", "Accept new clients again after drain.") { resumeId, resumeAll, resumeDir };
        resume.SetAction((result, ct) => AdminAsync(result.GetValue(resumeDir)!, new AdminRequest("", "resume", result.GetValue(resumeId)),
            _ => $"resumed {result.GetValue(resumeId) ?? "every server"}", ct));

        var kickId = new Argument<string>("ID") { Description = "server ID" };
        var kickClient = new Option<string>("--client") { Description = "the client's IP address", Required = true };
        var kickDir = DataDirOption();
        var kick = new Command("kick", "End every pair of one client IP on a server.") { kickId, kickClient, kickDir };
        kick.SetAction((result, ct) => AdminAsync(result.GetValue(kickDir)!,
            new AdminRequest("", "kick", result.GetValue(kickId), Client: result.GetValue(kickClient)), r => $"kicked {r.Count} connections", ct));

        var topDir = DataDirOption();
        var topCount = new Option<int?>("--count") { Description = "stop after this many refreshes (default: until Ctrl+C)" };
        var top = new Command("top", "A live table of servers, agents, pool fill, pairs and bytes per second.") { topDir, topCount };
        top.SetAction(async (result, ct) =>
        {
            try
            {
                return await TopView.RunAsync(result.GetValue(topDir)!, result.GetValue(topCount), ct);
            }
            catch (AdminException error)
            {
                Console.Error.WriteLine($"gray admin top: {error.Message}");
                return ExitCodes.Failure;
            }
        });

        command.Subcommands.Add(add);
        command.Subcommands.Add(top);
        command.Subcommands.Add(drain);
        command.Subcommands.Add(resume);
        command.Subcommands.Add(kick);
        command.Subcommands.Add(show);
        command.Subcommands.Add(delete);
        command.Subcommands.Add(shutdown);
        command.Subcommands.Add(fingerprint);
        return command;
    }

    private static string? OneOrAll(string? id, bool all) =>
        (id, all) switch
        {
            (null, true) => null,
            ({ } one, false) => one,
            _ => throw new ConfigException("name one server ID, or --all"),
        };

    /// <summary>Version, git commit and build date (the seed's LONG_VERSION).</summary>
    public static string LongVersion()
    {
        var assembly = typeof(GrayCommandLine).Assembly;
        string informational = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
        string[] parts = informational.Split('+', 2);
        string commit = parts.Length == 2 ? parts[1][..Math.Min(12, parts[1].Length)] : "unknown";
        string built = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BuildDate")?.Value ?? "unknown";
        return $"gray {parts[0]} (commit {commit}, built {built})";
    }

    private static Option<string> LogFormatOption() =>
        new("--log-format") { Description = "text (default) or json: one JSON object per line", DefaultValueFactory = _ => "text" };

    private static Option<string?> MetricsOption() =>
        new("--metrics") { Description = "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464)" };

    private static Option<bool> JsonOption() => new("--json") { Description = "print JSON" };

    private static Option<string> DataDirOption() =>
        new("--data-dir") { Description = $"the relay's data directory (default {DefaultDataDir})", DefaultValueFactory = _ => DefaultDataDir };

    private static async Task<int> AdminAsync(string dataDir, AdminRequest request, Func<AdminResponse, string> format, CancellationToken cancellationToken)
    {
        try
        {
            var response = await AdminClient.SendAsync(dataDir, request, cancellationToken).ConfigureAwait(false);
            if (!response.Ok)
            {
                Console.Error.WriteLine($"gray admin {request.Command}: {response.Error}");
                return ExitCodes.Usage;
            }

            Console.WriteLine(format(response));
            return ExitCodes.Ok;
        }
        catch (AdminException error)
        {
            Console.Error.WriteLine($"gray admin {request.Command}: {error.Message}");
            return ExitCodes.Failure;
        }
    }
}

/// <summary>What an agent process runs: its tunnels, and the file they came from (if any) for reloads.</summary>
internal sealed record AgentSetup(IReadOnlyList<AgentOptions> Tunnels, string? ConfigPath, System.Net.IPEndPoint? MetricsListen, Uri? OtlpEndpoint = null);

/// <summary>The agent as a hosted service; its exit code becomes the process's.</summary>
internal sealed class AgentService(AgentSetup setup, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime) : BackgroundService
{
    private readonly ILogger _log = loggerFactory.CreateLogger<AgentService>();

    // The agent is critical: if it fails unexpectedly, the process stops with exit code 1.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Background.CriticalAsync(() => RunAsync(stoppingToken), "The agent", _log, lifetime);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        Telemetry.MetricsServer? metrics = null;
        if (setup.MetricsListen is { } endPoint)
        {
            metrics = new Telemetry.MetricsServer(endPoint, new Telemetry.PrometheusExporter(Telemetry.AgentMeter.Name));
            try
            {
                metrics.Start();
            }
            catch (System.Net.Sockets.SocketException error)
            {
                Console.Error.WriteLine($"gray agent: cannot serve metrics on {endPoint}: {error.Message}");
                Environment.ExitCode = ExitCodes.Failure;
                lifetime.StopApplication();
                return;
            }
        }

        using var otlp = setup.OtlpEndpoint is { } otlpEndpoint
            ? Telemetry.OtlpExport.Start(Telemetry.AgentMeter.Name, otlpEndpoint, Telemetry.OtlpExport.DefaultInterval)
            : null;
        var tunnels = new TunnelSet(loggerFactory, stoppingToken);
        var gate = new SemaphoreSlim(1, 1);
        ReloadTrigger? trigger = null;
        try
        {
            await tunnels.ApplyAsync(setup.Tunnels).ConfigureAwait(false);
            if (setup.ConfigPath is { } path)
            {
                trigger = new ReloadTrigger(path, why => Background.Observe(ReloadAsync(path, why), "Agent configuration reload", _log));
                if (trigger.HangupWasIgnored) AgentLog.HangupTakenBack(_log);
            }

            async Task ReloadAsync(string file, string why)
            {
                await gate.WaitAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    var (wanted, settings) = AgentConfig.LoadWithSettings(file);
                    if (settings.LogLevel is { } level && Environment.GetEnvironmentVariable("GRAY_LOG_LEVEL") is null) Hosting.MinimumLevel = level;
                    await tunnels.ApplyAsync(wanted).ConfigureAwait(false);
                    _log.LogInformation("Configuration reloaded ({Trigger}): tunnels {Tunnels}", why, string.Join(", ", wanted.Select(t => t.Id)));
                }
                catch (ConfigException error)
                {
                    _log.LogError("Configuration reload ({Trigger}) refused, the old tunnels stay: {Reason}", why, error.Message);
                }
                finally
                {
                    gate.Release();
                }
            }

            try
            {
                await tunnels.AllEnded.WaitAsync(stoppingToken).ConfigureAwait(false);
                Environment.ExitCode = tunnels.WorstExitCode; // every tunnel ended by itself
            }
            catch (OperationCanceledException)
            {
                Environment.ExitCode = ExitCodes.Ok; // SIGINT/SIGTERM: a graceful stop
            }
        }
        finally
        {
            trigger?.Dispose();
            if (metrics is not null)
            {
                await metrics.StopAsync().ConfigureAwait(false);
                metrics.Exporter.Dispose();
            }

            lifetime.StopApplication();
        }
    }
}
