// What every part of a running relay shares, including its limits.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Gray.Net.Multiplexing;
using Microsoft.Extensions.Logging;
using Gray.Hosting.Telemetry;

namespace Gray.Relay;

internal sealed class RelayContext(RelayOptions options, ILoggerFactory loggerFactory, X509Certificate2 certificate,
    Registry registry, TimeProvider time, RelayMetrics metrics)
{
    public RelayOptions Options { get; } = options;

    /// <summary>The clock of every deadline, timeout and expiry of this relay (a fake one in tests).</summary>
    public TimeProvider Time { get; } = time;

    /// <summary>This relay's instruments.</summary>
    public RelayMetrics Metrics { get; } = metrics;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    /// <summary>The control port sessions' logger, made once: data connections come to that port too.</summary>
    public ILogger ControlLog { get; } = loggerFactory.CreateLogger<ControlSession>();

    /// <summary>Checks proofs with the same work and answer for every failure.</summary>
    public LoginCheck Logins { get; } = new();

    /// <summary>Wrong proofs back off per address.</summary>
    public LoginBackoff Backoff { get; } = new(time, options.AddressPrefix);

    /// <summary>Where failures of unauthenticated connections are counted and (sparingly) logged.</summary>
    public PreAuthLog PreAuth { get; } = new(loggerFactory.CreateLogger("Gray.Relay.PreAuth"), metrics, time);

    private volatile X509Certificate2 _certificate = certificate;

    /// <summary>The certificate for new handshakes; a reload may replace it.</summary>
    public X509Certificate2 Certificate
    {
        get => _certificate;
        set => _certificate = value;
    }

    public string Fingerprint => Certificates.Sha256Fingerprint(_certificate);

    public Registry Registry { get; } = registry;

    public ServerManager Manager { get; } = new();

    /// <summary>What happens in the relay, for the event stream's subscribers.</summary>
    public Events.RelayEventHub Events { get; } = new(time);

    /// <summary>Where the control port listens, once bound (the configured port may be 0).</summary>
    public IPEndPoint? ControlEndPoint { get; set; }

    /// <summary>When this relay started, for its uptime.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>Limits of multiplexed data connections; one window budget for every agent of this relay.</summary>
    public MuxOptions Mux { get; } = new();

    /// <summary>Agent keys that may authenticate instead of a secret; null when not configured.</summary>
    public TrustedKeys? TrustedKeys { get; set; }

    /// <summary>
    /// The most connections the open-file limit allows; a reload cannot raise max_connections past it.
    /// </summary>
    public int ConnectionCeiling { get; init; } = int.MaxValue;

    /// <summary>Every connection the relay holds (max_connections), across all its listeners.</summary>
    public ConnectionQuota Connections { get; } = new(options.MaxConnections);

    /// <summary>Clients of every server together: they cannot take the agents' and the pending share.</summary>
    public ConnectionQuota Clients { get; } = new(options.EffectiveMaxClients);

    /// <summary>Unauthenticated connections (control and data ports): the oldest make room for new ones.</summary>
    public PendingSessions Pending { get; } =
        new(options.MaxPendingPerIp, options.EffectiveMaxPending, options.AddressPrefix);

    private volatile bool _drainAll;

    /// <summary>A server's bandwidth limits: set through the API, else from the relay file.</summary>
    public Bandwidth BandwidthFor(string id) =>
        Registry.Find(id)?.BandwidthOverride ?? Options.RulesFor(id).Bandwidth;

    /// <summary>This relay refuses new clients of <paramref name="id"/>: the whole relay (or node) is
    /// drained, or the server is (in the registry, so on every node of a cluster).</summary>
    public bool IsDraining(string id) => _drainAll || Registry.Find(id)?.Drained == true;

    /// <summary>Every server of this relay (this node of a cluster) is drained.</summary>
    public bool DrainAll
    {
        get => _drainAll;
        set => _drainAll = value;
    }

    /// <summary>This relay as a node of a cluster; null when it runs alone.</summary>
    public ClusterMembership? Cluster { get; set; }

    /// <summary>Drains one server (in the registry), or with null this whole relay (in a cluster: this node,
    /// as drain-node does, so that its agents are told).</summary>
    public void Drain(string? id)
    {
        if (id is not null)
        {
            Registry.SetDrained(id, true);
            return;
        }

        // In a cluster the node's row says first (so that agents are told); a failed write changes nothing.
        Cluster?.SetDraining(Cluster.NodeId, true);
        _drainAll = true;
    }

    /// <summary>Resumes one server, or with null this relay (node) and every server's drain.</summary>
    public void Resume(string? id)
    {
        if (id is null)
        {
            Cluster?.SetDraining(Cluster.NodeId, false);
            _drainAll = false;
        }

        Registry.SetDrained(id, false);
    }

    /// <summary>Options for the relay's own listeners: Gray.Net's defaults with our deadlines and limits.</summary>
    public TcpServerOptions ListenerOptions(int maxSessions, int maxPerAddress = int.MaxValue,
        string? serverId = null, bool counted = true) => new()
    {
        MaxSessions = maxSessions,
        MaxSessionsPerAddress = maxPerAddress,
        AddressPrefix = Options.AddressPrefix,
        Quota = counted ? Connections : null,
        HandshakeTimeout = Options.HandshakeTimeout,
        TimeProvider = Time,
        // The library's lines about one server's connections carry its ID.
        LoggerFactory = serverId is null ? LoggerFactory
            : new ScopedLoggerFactory(LoggerFactory, new LogScope("ServerId", serverId)),
        // Control frames are small; a peer that lets 1 MiB of them pile up is not reading.
        SendQueueLimitBytes = 1024 * 1024,
    };
}
