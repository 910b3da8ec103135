// `gray agent`: authenticates to the relay, keeps its pool of data connections full, dials the
// target for each paired client and splices; reconnects with backoff after any network failure.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;
using Gray.Hosting.Telemetry;

namespace Gray.Agent;

/// <param name="humanOutput">Where the line saying the service is public goes (standard output by default).</param>
/// <param name="muxOptions">Limits of multiplexed data connections, shared by the tunnels of one process.</param>
/// <param name="time">The clock of deadlines and backoff (a fake one in tests).</param>
/// <param name="metrics">The process's agent instruments (its own set if not given).</param>
public sealed class TunnelAgent(AgentOptions options, ILoggerFactory loggerFactory, TextWriter? humanOutput = null,
    MuxOptions? muxOptions = null, TimeProvider? time = null, AgentMetrics? metrics = null)
{
    private static readonly BackoffOptions ReconnectBackoff = new()
    {
        Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromSeconds(30), Jitter = 0.2,
    };

    /// <summary>Data connections being set up at once; the relay limits unauthenticated ones per address.</summary>
    private const int MaxConcurrentDataSetups = 8;

    /// <summary>
    /// How long a failed data connection is retried: within the relay's OTP lifetime (30 s by default).
    /// </summary>
    private static readonly TimeSpan DataRetryWindow = TimeSpan.FromSeconds(20);

    private static readonly BackoffOptions DataRetryBackoff = new()
    {
        Initial = TimeSpan.FromMilliseconds(100), Maximum = TimeSpan.FromSeconds(2), Jitter = 0.2,
    };

    private readonly ConcurrentDictionary<long, TcpConnection> _connections = new();
    private readonly SemaphoreSlim _dataSetups = new(MaxConcurrentDataSetups);
    private readonly object _pairsGate = new();
    private long _pairIds;
    private long _sessions;
    private int _activePairs;
    private TaskCompletionSource _noPairs = CompletedSource();
    private WebSocketDialer? _webSockets;

    internal AgentOptions Options => options;

    /// <summary>A control session is welcomed and serving now (false while it reconnects).</summary>
    internal bool IsConnected { get; private set; }

    /// <summary>Called with each list of a cluster's nodes the relay sends (NodeSessions follows them).</summary>
    internal Action<ClusterNodes>? NodesLearned { get; set; }

    /// <summary>The target's address for UDP flows: the IP literal, or what its name resolves to now.</summary>
    internal async Task<IPEndPoint?> ResolveTargetAsync()
    {
        var target = options.Target;
        if (IPAddress.TryParse(target.Host, out var literal)) return new IPEndPoint(literal, target.Port);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(target.Host).ConfigureAwait(false);
            return addresses.Length == 0 ? null : new IPEndPoint(addresses[0], target.Port);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The relay's address and the server's client port: a PROXY header's destination.</summary>
    internal IPEndPoint PublicEndPoint { get; private set; } = new(IPAddress.Any, 0);

    internal MuxOptions MuxOptions { get; } = muxOptions ?? new MuxOptions();

    internal TimeProvider Time { get; } = time ?? TimeProvider.System;

    internal AgentMetrics Metrics { get; } = metrics ?? new AgentMetrics();

    /// <summary>Options for one of this tunnel's connections (control, data or target).</summary>
    internal TcpClientOptions ClientOptions() =>
        new() { ConnectTimeout = options.ConnectTimeout, LoggerFactory = LoggerFactory, TimeProvider = Time };

    /// <summary>For connections to the relay: by WebSocket or TCP, through the proxy if there is one.</summary>
    internal TcpClientOptions RelayClientOptions()
    {
        var relayOptions = ClientOptions();
        relayOptions.Proxy = options.Proxy;
        if (_webSockets is { } webSockets) relayOptions.Dial = webSockets.DialAsync;
        return relayOptions;
    }

    // Every line of this tunnel, the library's included, carries its server ID.
    private readonly ILoggerFactory _scopedLoggers = new ScopedLoggerFactory(loggerFactory,
        new LogScope("ServerId", options.Id));

    internal ILogger Logger { get; } =
        new ScopedLoggerFactory(loggerFactory, new LogScope("ServerId", options.Id)).CreateLogger<TunnelAgent>();

    internal ILoggerFactory LoggerFactory => _scopedLoggers;

    /// <summary>Runs until cancelled (exit code 0) or until a fatal error (its exit code).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var webSockets = options.RelayWebSocket is { } url
            ? new WebSocketDialer(url, options.Proxy, ClientOptions()) : null;
        _webSockets = webSockets;
        try
        {
            await Reconnector.RunAsync(SessionAsync, ReconnectBackoff, error => error is AgentFatalException, Logger,
                cancellationToken, Time)
                .ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (AgentFatalException error)
        {
            Logger.LogError("{Message}", error.Message);
            Console.Error.WriteLine($"gray agent: {error.Message}");
            if (error.FinishPairs) await FinishPairsAsync(cancellationToken).ConfigureAwait(false);
            return error.ExitCode;
        }
        finally
        {
            foreach (var connection in _connections.Values) connection.Disconnect();
        }
    }

    internal long PairStarted()
    {
        lock (_pairsGate)
        {
            if (_activePairs++ == 0)
            {
                _noPairs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        Metrics.ActivePairs.Add(1);
        return Interlocked.Increment(ref _pairIds);
    }

    internal void PairEnded()
    {
        lock (_pairsGate)
        {
            if (--_activePairs == 0) _noPairs.TrySetResult();
        }

        Metrics.ActivePairs.Add(-1);
    }

    private static TaskCompletionSource CompletedSource()
    {
        var source = new TaskCompletionSource();
        source.SetResult();
        return source;
    }

    /// <summary>Lets running pairs end by themselves (or until stopped) before the process exits.</summary>
    private async Task FinishPairsAsync(CancellationToken cancellationToken)
    {
        Task noPairs;
        int active;
        lock (_pairsGate)
        {
            noPairs = _noPairs.Task;
            active = _activePairs;
        }

        if (active == 0) return;
        Logger.LogInformation("Finishing {Pairs} running pairs before exiting", active);
        try
        {
            await noPairs.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal void Track(TcpConnection connection) => _connections[connection.Id] = connection;

    internal void Forget(TcpConnection connection) => _connections.TryRemove(connection.Id, out _);

    /// <summary>One control session: connect, authenticate, serve until it ends.</summary>
    private async Task SessionAsync(Action connected, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _sessions) > 1) Metrics.Reconnects.Add(1);
        var trust = new RelayTrust(options, Logger);
        var tls = new TlsClientOptions
        {
            TargetHost = options.Relay.Host, ServerCertificateValidation = trust.Validate,
        };
        var control = new ControlClient(this, tls);
        try
        {
            await control.ConnectAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException) when (trust.Failure is { } failure)
        {
            throw new AgentFatalException(failure, ExitCodes.Usage);
        }

        trust.CommitFirstUse();
        using (cancellationToken.Register(control.Disconnect))
        {
            var welcome = await control.Welcomed.ConfigureAwait(false);
            if (welcome is not null)
            {
                connected();
                IsConnected = true;
                // Pinned to the certificate this session accepted; TLS sessions resume, so a pool refill is
                // mostly an abbreviated handshake (the pin still checks every one).
                var dataTls = welcome.PlainData ? null : TlsClientOptions.Pinned(trust.Accepted!, options.Relay.Host,
                    welcome.DataPort == 0 ? options.Relay.Port : welcome.DataPort);
                if (options.EffectiveMux && !welcome.Mux) AgentLog.MuxNotGranted(Logger, options.Id);
                // The address the client reached, as far as the agent can tell: the relay's, and the client port.
                PublicEndPoint = new IPEndPoint((control.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Any,
                    welcome.ClientPort);
                control.StartServing(dataTls);
                // Client port 0: the server has none of its own; the relay's shared ports reach it by name.
                string where = welcome.ClientPort == 0 ? "by its host names" : $"port {welcome.ClientPort}";
                AgentLog.Connected(Logger, options.Id, options.RelayText, where, options.TargetText);
                (humanOutput ?? Console.Out).WriteLine(
                    $"gray agent: server {options.Id} is public on relay {options.Relay.Host} " +
                    $"{where}, forwarding to {options.TargetText}");
            }

            try
            {
                await control.Completion.ConfigureAwait(false);
            }
            finally
            {
                IsConnected = false;
            }
        }

        if (control.Fatal is { } fatal) throw fatal;
        if (control.EndReason is { } reason) AgentLog.ControlLost(Logger, options.Id, reason);
    }

    /// <summary>
    /// Opens one pooled data connection that presents <paramref name="otp"/>; never throws. A relay at
    /// its connection limit refuses at once, so failures are retried, with backoff, while the OTP can
    /// still be valid: otherwise that pool slot would stay empty until the relay lets the OTP expire.
    /// </summary>
    internal async Task OpenDataConnectionAsync(byte[] otp, int dataPort, TlsClientOptions? tls, bool mux,
        CancellationToken sessionEnded)
    {
        // Data port 0: to the control port, opened with a DataOpen frame (one port for agents).
        var relayData = dataPort == 0 ? options.Relay : new DnsEndPoint(options.Relay.Host, dataPort);
        var kind = mux ? DataConnectionKind.Multiplexed : DataConnectionKind.Pooled;
        byte[] opening = dataPort == 0
            ? ControlFrames.Encode(new DataOpen(kind, options.Id, otp))
            : new DataPreface(kind, otp).Encode();
        var backoff = new ExponentialBackoff(DataRetryBackoff);
        var deadline = Time.GetUtcNow() + DataRetryWindow;
        while (!sessionEnded.IsCancellationRequested)
        {
            var data = new DataClient(this, relayData, opening, tls, mux);
            await _dataSetups.WaitAsync(sessionEnded).ConfigureAwait(false);
            try
            {
                await data.ConnectAsync(sessionEnded).ConfigureAwait(false);
                await data.PrefaceSent.ConfigureAwait(false);
                return;
            }
            catch (Exception error)
                when (error is SocketException or IOException or TimeoutException or AuthenticationException)
            {
                if (Time.GetUtcNow() >= deadline)
                {
                    Metrics.DataConnectionsFailed.Add(1);
                    AgentLog.DataFailed(Logger, options.Id, error.Message);
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            finally
            {
                _dataSetups.Release();
            }

            try
            {
                await Task.Delay(backoff.Next(), Time, sessionEnded).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
