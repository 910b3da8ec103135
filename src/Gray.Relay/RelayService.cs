// `gray relay` as a hosted service: data directory, certificate, registry, the TLS control port,
// the HTTP control plane, the console; a graceful stop that releases every port.
using Gray.Relay.ControlPlane;
using System.Diagnostics.Metrics;
using Gray.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Gray.Hosting;
using Gray.Hosting.Telemetry;

namespace Gray.Relay;

public sealed class RelayService(RelayOptions options, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime,
    LogControl logs, ExitStatus exit, RelayConfigSource? configSource = null, TimeProvider? time = null,
    IMeterFactory? meterFactory = null)
    : BackgroundService
{
    private readonly ILogger _log = loggerFactory.CreateLogger<RelayService>();

    /// <summary>
    /// Descriptors kept for everything but connections: listeners, their spares, files, the runtime's own.
    /// </summary>
    private const int DescriptorMargin = 128;

    // Each connection is a descriptor. Out of descriptors the .NET runtime itself can abort ("Out of
    // memory." when it cannot start a thread), so max_connections must stay below what the process
    // may open: the relay then refuses at its own limit, cleanly, and never runs the process dry.
    /// <returns>The most connections the open-file limit allows
    /// (a reload cannot raise max_connections past it).</returns>
    private int FitConnectionsToDescriptors()
    {
        if (DescriptorLimit.Raise() is not { } limit) return int.MaxValue;
        int inUse = Directory.GetFiles("/proc/self/fd").Length;
        long ceiling = Math.Max(16, (long)limit - inUse - DescriptorMargin);
        int connectionCeiling = (int)Math.Min(int.MaxValue, ceiling);
        if (options.MaxConnections <= ceiling) return connectionCeiling;
        _log.LogWarning("max_connections {Configured} lowered to {Ceiling}: the process may open only {Limit} files " +
            "(raise it with ulimit -n or LimitNOFILE=)", options.MaxConnections, ceiling, limit);
        options.MaxConnections = (int)ceiling;
        return connectionCeiling;
    }

    /// <summary>Returns once every listener is bound (or the start failed): the host reports the service
    /// started, and systemd hears READY=1, only then.</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        // A failed start stops the host, which cancels this token: that ends the wait, quietly.
        await Task.WhenAny(_started.Task, ExecuteTask ?? Task.CompletedTask,
            Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
    }

    // The relay itself is critical: if it fails, the process stops with exit code 1.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Background.CriticalAsync(() => RunAsync(stoppingToken), "The relay", _log, lifetime, exit);

    // A refresh that removed the key an agent logged in with drops that agent.
    private void DropAgentsWithRevokedKeys(RelayContext relay, TrustedKeys keys)
    {
        foreach (var server in relay.Manager.All)
        {
            if (server.AuthKey is not { } key || keys.IsTrusted(server.Id, key)) continue;
            _log.LogWarning("Server {ServerId}: its agent's key was removed from the trusted keys; dropping it",
                server.Id);
            Background.Observe(server.ShutdownAsync("its key is no longer trusted", keepPairs: false,
                Protocol.ErrorCode.KeyRevoked), $"Server {server.Id}: shutdown", _log);
        }
    }

    private readonly TaskCompletionSource<RelayContext> _started =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The running relay, once its ports listen (for hosts that embed it, such as tests).</summary>
    internal Task<RelayContext> Started => _started.Task;

    /// <summary>Where the control port listens, once started.</summary>
    internal System.Net.IPEndPoint? ControlEndPoint { get; private set; }

    /// <summary>Where the TLS entry point listens once started; null when https_port is off.</summary>
    internal System.Net.IPEndPoint? SharedTlsEndPoint { get; private set; }

    /// <summary>Where the HTTP entry point listens once started; null when http_port is off.</summary>
    internal System.Net.IPEndPoint? SharedHttpEndPoint { get; private set; }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        RelayContext relay;
        ControlListener control;
        RelayCommands commands;
        HttpControlPlane? http = null;
        HostRouting.SharedPorts? shared = null;
        ConfigReloader? reloader = null;
        ClusterMember? cluster = null;
        OpenTelemetry.Metrics.MeterProvider? meters = null;
        FileStream? dataDirLock = null;
        try
        {
            int connectionCeiling = OperatingSystem.IsLinux() ? FitConnectionsToDescriptors() : int.MaxValue;
            logs.ApplyConfigured(options.LogLevel);
            ClusterMember.Check(options);
            string dataDir = DataDirectory.Ensure(options.DataDir);
            dataDirLock = DataDirectory.Lock(dataDir);
            var certificate = RelayCertificate.LoadOrCreate(options, dataDir);
            relay = new RelayContext(options, loggerFactory, certificate, Registry.Open(dataDir, options),
                time ?? TimeProvider.System,
                new RelayMetrics(meterFactory))
            {
                ConnectionCeiling = connectionCeiling,
            };
            foreach (string change in DeclaredServers.Sync(relay, options))
            {
                _log.LogInformation("Configuration: {Change}", change);
            }
            if (options.TrustedKeysSource is { } keySource)
            {
                relay.TrustedKeys = new TrustedKeys(keySource, options.TrustedKeysRefresh, options.TrustedKeysAllowHttp,
                    relay.Time, _log, keys => DropAgentsWithRevokedKeys(relay, keys));
            }
            // The meter pipeline first: a measurement made before it listens would be lost.
            meters = RelayTelemetry.Start(options);
            if (options.OtlpEndpoint is { } otlpEndpoint)
            {
                _log.LogInformation("Pushing metrics over OTLP to {Endpoint} every {Seconds} s", otlpEndpoint,
                    options.OtlpInterval.TotalSeconds);
            }

            control = new ControlListener(relay, new TlsServerOptions { Certificate = certificate });
            control.Start();
            relay.ControlEndPoint = control.EndPoint;
            shared = await HostRouting.SharedPorts.StartAsync(relay, stoppingToken).ConfigureAwait(false);
            SharedTlsEndPoint = shared.TlsEndPoint;
            SharedHttpEndPoint = shared.HttpEndPoint;
            commands = new RelayCommands(relay, lifetime.StopApplication);
            var manager = relay.Manager;
            relay.Metrics.ObserveServers(() =>
                manager.All.Select(s => (s.Id, s.ActivePairs, s.ReadyCount, s.Pool, s.BytesIn, s.BytesOut)));
            relay.Metrics.ObserveUdp(() => manager.All.Where(s => s.Udp is not null)
                .Select(s => (s.Id, s.Udp!.FlowCount, s.Udp.Dropped, s.Udp.Refused)));
            var registry = relay.Registry;
            relay.Metrics.ObserveAgents(() => registry.List().Select(e => (e.Id, manager.Find(e.Id) is not null)));
            if (options.HttpListen is { } httpEndPoint)
            {
                var httpCertificate = options.HttpTls ? HttpCertificate(options, certificate) : null;
                http = await HttpControlPlane.StartAsync(commands, httpEndPoint, httpCertificate, meters,
                    options.HttpAgents ? control : null, Version, stoppingToken).ConfigureAwait(false);
                AdminAccess.Write(relay.Registry, dataDir, http.Url,
                    httpCertificate is null ? null : Certificates.Sha256Fingerprint(httpCertificate));
                RelayLog.HttpListening(_log, http.Url);
            }

            cluster = ClusterMember.Start(relay, http?.Url);
            // Armed before the ready line: a file changed once the relay said it runs must be reloaded.
            if (configSource is not null)
            {
                reloader = new ConfigReloader(configSource, relay, control, dataDir, logs, _log);
                reloader.Start();
            }

            RelayLog.Started(_log, control.EndPoint, relay.Fingerprint);
            ControlEndPoint = control.EndPoint;
            _started.TrySetResult(relay);
            logs.HumanOutput.WriteLine($"gray relay: control {control.EndPoint}, certificate SHA-256 " +
                $"{relay.Fingerprint}");
            if (options.Console && !Console.IsInputRedirected)
            {
                Background.Observe(
                    Background.SuperviseAsync(ct => RelayConsole.RunAsync(commands, ct), "The console", _log,
                        stoppingToken),
                    "The console", _log);
            }
        }
        catch (Exception error)
        {
            bool usage = error is ConfigException or RegistryException;
            bool explained = usage || error is DataDirectoryInUseException or ControlPlane.ListenException
                or System.Net.Sockets.SocketException
                {
                    SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse,
                };
            meters?.Dispose();
            if (cluster is not null) await cluster.DisposeAsync().ConfigureAwait(false);
            if (shared is not null) await shared.DisposeAsync().ConfigureAwait(false);
            if (http is not null) await http.DisposeAsync().ConfigureAwait(false);
            dataDirLock?.Dispose();
            _log.LogCritical(explained ? null : error, "The relay could not start: {Reason}", error.Message);
            Console.Error.WriteLine($"gray relay: cannot start: {error.Message}");
            _started.TrySetException(error);
            exit.Code = usage ? ExitCodes.Usage : ExitCodes.Failure;
            lifetime.StopApplication();
            return;
        }

        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Stop: no new agents, then every server (ports released), then the control plane.
        commands.IsStopping = true;
        reloader?.Dispose();
        if (cluster is not null) await cluster.DisposeAsync().ConfigureAwait(false);
        if (relay.TrustedKeys is { } trustedKeys) await trustedKeys.DisposeAsync().ConfigureAwait(false);
        await control.StopAsync().ConfigureAwait(false);
        await shared.DisposeAsync().ConfigureAwait(false);
        await relay.Manager.ShutdownAllAsync().ConfigureAwait(false);
        if (http is not null) await http.DisposeAsync().ConfigureAwait(false);
        meters.Dispose(); // flushes the last measurements to OTLP
        relay.Registry.Dispose();
        relay.Logins.Dispose();
        relay.Metrics.Dispose();
        dataDirLock.Dispose();
        RelayLog.Stopped(_log);
    }

    /// <summary>The version the control plane reports.</summary>
    private static readonly string Version =
        typeof(RelayService).Assembly.GetName().Version?.ToString(3) ?? "0";

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 HttpCertificate(
        RelayOptions options,
        System.Security.Cryptography.X509Certificates.X509Certificate2 relayCertificate) =>
        options.HttpCertificatePath is { } path
            ? Certificates.LoadPem(path, options.HttpKeyPath ?? throw new Hosting.ConfigException(
                "http.certificate needs http.key"))
            : relayCertificate;
}
