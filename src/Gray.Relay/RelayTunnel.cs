// The relay's side of one server's tunnel while its agent is connected: the client and data ports,
// and a coordinator over its parts: the OTP ledger, the data pool, the waiting clients and the
// heartbeat. One lock guards the parts, so that a connection is either in the
// pool or handed to a client, never both; pairs run in PairRunner.
using System.Net;
using Gray.Net;
using Gray.Net.Multiplexing;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed partial class RelayTunnel
{
    /// <summary>Longest pause between housekeeping passes (OTP expiry, pool top-up, pings).</summary>
    private static readonly TimeSpan MaxHousekeepingInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a shutdown waits to deliver its error frame to the agent.</summary>
    private static readonly TimeSpan GoodbyeTimeout = TimeSpan.FromSeconds(1);

    private readonly RelayContext _relay;
    private readonly ControlSession _control;
    private readonly TcpServer? _clients; // none for a server reached by host name only
    private readonly TcpServer? _data; // only with a separate data port
    private readonly object _gate = new();
    private readonly OtpLedger _otps;
    private readonly IDataPool _pool;
    private readonly WaitingClients _waiting = new();
    private readonly Heartbeat _heartbeat;
    private readonly ParsedClientRules _clientRules;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _shutdown;

    // Data connections whose OTP was redeemed but that are not in the pool yet: they fill a pool slot,
    // or a top-up in between would ask for one connection too many.
    private int _admitting;

    /// <summary>Limits of this relay's multiplexed data connections.</summary>
    internal MuxOptions MuxOptions => _relay.Mux;

    public RelayTunnel(RelayContext relay, ControlSession control, ServerEntry entry, int pool, bool plainData,
        byte[]? authKey = null, bool mux = false, bool separateDataPort = false)
    {
        Mux = mux;
        AuthKey = authKey;
        _relay = relay;
        _control = control;
        Id = entry.Id;
        Entry = entry;
        ConnectedAt = relay.Time.GetUtcNow();
        ClientPort = entry.ClientPort;
        Hosts = entry.Hosts;
        DataPort = entry.DataPort;
        Pool = pool;
        PlainData = plainData;
        Logger = relay.LoggerFactory.CreateLogger<RelayTunnel>();
        _otps = new OtpLedger(Id, relay.Time, relay.Metrics);
        _pool = IDataPool.Create(mux);
        _heartbeat = new Heartbeat(relay.Time);
        Pairs = new PairRunner(this);
        _clientRules = new ParsedClientRules(() => Rules);
        Bandwidth = new ServerBandwidth(() => relay.BandwidthFor(Id), relay.Time);
        Routed = new HostRouting.RoutedClients(relay.Options.AddressPrefix);
        Bandwidth.Refresh();
        IPAddress bind = relay.Options.EffectivePublicBind;
        var options = relay.ListenerOptions(relay.Options.EffectiveMaxClientsPerServer,
            relay.Options.MaxClientConnectionsPerIp, Id);
        Protocols = entry.Protocols;
        if (ClientPort is { } port)
        {
            _clients = new ClientListener(this, new IPEndPoint(bind, port), options);
            if (Protocols.HasFlag(ServerProtocols.Udp)) Udp = new UdpFlows(this, new IPEndPoint(bind, port));
        }
        if (!separateDataPort) return; // data connections come to the control port
        // Every pair holds one data connection, and the pool waits on top of them.
        var dataOptions = relay.ListenerOptions(relay.Options.EffectiveMaxClientsPerServer + Rules.MaxPool,
            serverId: Id);
        _data = new DataListener(this, new IPEndPoint(bind, DataPort),
            plainData ? null : new TlsServerOptions { Certificate = relay.Certificate }, dataOptions);
    }

    public string Id { get; }

    /// <summary>Its agent follows the cluster's nodes (its Hello said so): it is told when they change.</summary>
    public bool AgentFollowsCluster { get; init; }

    /// <summary>Tells the agent the cluster's live nodes, if it follows them and this relay is a node.</summary>
    public void SendNodes()
    {
        if (AgentFollowsCluster && _relay.Cluster is { } cluster && _control.IsConnected && !IsShutDown)
        {
            _control.Send(ControlFrames.Encode(cluster.AgentView(Id)));
        }
    }

    /// <summary>The registry's entry as it was when its agent authenticated.</summary>
    public ServerEntry Entry { get; }

    /// <summary>When its agent authenticated.</summary>
    public DateTimeOffset ConnectedAt { get; }

    /// <summary>The latest ping round trip; null until the first pong.</summary>
    public TimeSpan? RoundTrip { get; private set; }

    /// <summary>The trusted key its agent authenticated with, or null for the HMAC secret.</summary>
    public byte[]? AuthKey { get; }

    public RelayContext Relay => _relay;

    /// <summary>This server's rules as the configuration has them now (a reload may change them).</summary>
    public ServerRules Rules => _relay.Options.RulesFor(Id);

    /// <summary>Who may connect to the client port, as the rules say now.</summary>
    public AddressRules ClientRules => _clientRules.Rules;


    /// <summary>Its own public port; null when host names on the shared ports are its only way in.</summary>
    public int? ClientPort { get; }

    /// <summary>Its host names on the shared ports, as the registry had them when its agent connected.</summary>
    public IReadOnlyList<string> Hosts { get; }

    public int DataPort { get; }

    public int Pool { get; }

    public bool PlainData { get; }

    /// <summary>The agent asked for multiplexed data connections.</summary>
    public bool Mux { get; }

    public int ReadyCount
    {
        get { lock (_gate) return _pool.Count; }
    }

    /// <summary>Clients waiting for a data connection.</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Runs this tunnel's pairs and counts them.</summary>
    public PairRunner Pairs { get; }

    public int ActivePairs => Pairs.Active;

    public EndPoint? AgentEndPoint => _control.RemoteEndPoint;

    public ILogger Logger { get; }

    private bool IsShutDown => Volatile.Read(ref _shutdown) != 0;

    /// <summary>Binds both ports. Throws if a port is taken.</summary>
    public Task StartAsync()
    {
        _data?.Start();
        try
        {
            if (Protocols.HasFlag(ServerProtocols.Tcp)) _clients?.Start();
            Udp?.Start();
        }
        catch
        {
            if (_data is not null) Background.Observe(_data.StopAsync(), $"Server {Id}: data port stop", Logger);
            if (_clients is not null)
                Background.Observe(_clients.StopAsync(), $"Server {Id}: client port stop", Logger);
            throw;
        }

        return Task.CompletedTask;
    }

    /// <summary>After the welcome went out: fills the pool and starts housekeeping.</summary>
    public void Serve()
    {
        RelayLog.AgentConnected(Logger, Id, _control.RemoteEndPoint, RelayLog.ClientsText(ClientPort, Hosts),
            _data is null ? "the control port" : $"port {DataPort}", Pool,
            (PlainData ? "plain" : "TLS") + (Mux ? " multiplexed" : " pooled"));
        TopUpPool();
        Background.Observe(HousekeepingAsync(_stopping.Token), $"Server {Id}: housekeeping", Logger);
    }

    /// <summary>
    /// Shuts down once: listeners and pooled sockets closed, waiting clients and the control channel
    /// dropped, removed from the manager. With <paramref name="keepPairs"/> running pairs go on.
    /// </summary>
    /// <summary>Completes once a shutdown has released the tunnel's ports.</summary>
    public Task Stopped => _stopped.Task;

    public async Task ShutdownAsync(string reason, bool keepPairs, ErrorCode? tellAgent = null)
    {
        if (Interlocked.Exchange(ref _shutdown, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        _stopping.Cancel();
        _relay.Manager.Remove(this);
        _relay.Events.Publish(Events.RelayEventTypes.AgentDisconnected, Id, reason: reason);
        if (tellAgent is { } code && _control.IsConnected)
        {
            _control.Send(ControlFrames.Encode(new ErrorMessage(code, reason)));
            using var goodbye = new CancellationTokenSource(GoodbyeTimeout, _relay.Time);
            try
            {
                await _control.FlushAsync(goodbye.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _control.Disconnect();
        if (Udp is not null) await Udp.StopAsync().ConfigureAwait(false); // its flows end with the agent
        if (keepPairs)
        {
            await Task.WhenAll(_clients?.StopListeningAsync() ?? Task.CompletedTask,
                    _data?.StopListeningAsync() ?? Task.CompletedTask)
                .ConfigureAwait(false);
        }
        else
        {
            await Task.WhenAll(_clients?.StopAsync() ?? Task.CompletedTask,
                _data?.StopAsync() ?? Task.CompletedTask).ConfigureAwait(false);
            Routed.DisconnectAll();
        }

        List<DataLink> pooled;
        List<TaskCompletionSource<DataLink?>> waiting;
        lock (_gate)
        {
            pooled = _pool.Clear();
            waiting = _waiting.TakeAll();
            _otps.Clear();
            _admitting = 0;
        }

        foreach (var waiter in waiting) waiter.TrySetResult(null);
        foreach (var data in pooled)
        {
            // Kept pairs run on: a multiplexed connection closes when its last channel ends.
            if (keepPairs && data.Mux is { } mux) mux.Drain();
            else data.Disconnect();
        }

        RelayLog.ServerShutDown(Logger, Id, reason);
        _relay.Manager.Stopped(this);
        _stopped.TrySetResult();
    }

    /// <summary>A message from the agent on the control channel.</summary>
    public void OnControlMessage(ControlMessage message)
    {
        _heartbeat.Heard();
        switch (message)
        {
            case Ping ping:
                _control.Send(ControlFrames.Encode(new Pong(ping.Nonce)));
                break;
            case Pong pong:
                long sent = (long)pong.Nonce; // our ping's nonce is its timestamp
                if (sent > 0 && sent <= _relay.Time.GetTimestamp())
                {
                    RoundTrip = _relay.Time.GetElapsedTime(sent);
                    _relay.Metrics.PingRoundTrip.Record(RoundTrip.Value.TotalSeconds,
                        new KeyValuePair<string, object?>("server", Id));
                }

                break;
            default:
                throw new ProtocolException($"unexpected {message.Type} frame after the handshake");
        }
    }

    // Every timer of a tunnel in one loop: pings, the pong deadline, OTP expiry and the pool check.
    private async Task HousekeepingAsync(CancellationToken cancellationToken)
    {
        var options = _relay.Options;
        var interval = new[] { MaxHousekeepingInterval, options.PingInterval / 2, options.OtpLifetime / 2 }.Min();
        using var timer = new PeriodicTimer(interval, _relay.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var silence = _heartbeat.Silence;
                if (silence > options.PingTimeout)
                {
                    RelayLog.PingTimeout(Logger, Id, silence.TotalSeconds);
                    Background.Observe(ShutdownAsync("ping timeout", keepPairs: false), $"Server {Id}: shutdown",
                        Logger);
                    return;
                }

                try
                {
                    if (_heartbeat.PingDue(options.PingInterval))
                    {
                        _control.Send(ControlFrames.Encode(new Ping((ulong)_relay.Time.GetTimestamp())));
                    }

                    TopUpPool();
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    // One bad tick must not end the tunnel's pings and OTPs: the next tick tries again.
                    Logger.LogError(error, "Server {ServerId}: housekeeping failed; trying again", Id);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

}
