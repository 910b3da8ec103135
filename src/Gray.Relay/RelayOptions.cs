// Every relay setting with its default; filled from the YAML file, then from command-line flags.
using System.Net;
using Gray.Hosting.Telemetry;

namespace Gray.Relay;

public sealed class RelayOptions
{
    public const int DefaultControlPort = 44555;

    public string DataDir { get; set; } = "./gray-data";

    /// <summary>Where the registry is: null for SQLite in the data directory, <c>sqlite:PATH</c>, or a
    /// PostgreSQL URL or connection string (a cluster's, decision 0042).</summary>
    public string? Registry { get; set; }

    /// <summary>This relay as a node of a cluster (cluster.*); needs a PostgreSQL registry. Null: alone.</summary>
    public ClusterOptions? Cluster { get; set; }

    public IPEndPoint Control { get; set; } = new(IPAddress.Any, DefaultControlPort);

    public int PortLow { get; set; } = 20000;

    public int PortHigh { get; set; } = 29999;

    /// <summary>
    /// The TLS entry point's port (https_port): servers reached by the SNI name of their clients' TLS,
    /// passed through unopened (HostRouting). Null: off.
    /// </summary>
    public int? HttpsPort { get; set; }

    /// <summary>
    /// The HTTP entry point's port (http_port): servers reached by the Host header of HTTP requests,
    /// forwarded with X-Forwarded-* (HostRouting). Null: off.
    /// </summary>
    public int? HttpPort { get; set; }

    /// <summary>Where client and data ports listen; null means the control address.</summary>
    public IPAddress? PublicBind { get; set; }

    /// <summary>PEM certificate and key; without them the relay makes and keeps its own.</summary>
    public string? CertificatePath { get; set; }

    public string? KeyPath { get; set; }

    /// <summary>May agents ask for plain-TCP data connections (--plain-data)? Off unless allowed.</summary>
    public bool AllowPlainData { get; set; }

    /// <summary>
    /// May agents multiplex clients over their data connections (--mux)? If not, they get pooled ones.
    /// </summary>
    public bool AllowMux { get; set; } = true;

    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline for each step of the control handshake (hello, proof).</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline for a data connection to present its OTP, counted from accept.</summary>
    public TimeSpan OtpTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan OtpLifetime { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a client may wait for a pooled data connection.</summary>
    public TimeSpan ClientWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A UDP flow (a client address and port on a UDP client port) with no datagram either way for
    /// this long ends.</summary>
    public TimeSpan UdpIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Clients that may wait at once per server; more are refused at once.</summary>
    public int MaxWaitingClients { get; set; } = 1024;

    /// <summary>All connections of the relay at once: control, data and client (server.rs's default).</summary>
    public int MaxConnections { get; set; } = 1000;

    /// <summary>Clients of all servers at once; null: what max_connections leaves after pending and agents.</summary>
    public int? MaxClients { get; set; }

    /// <summary>Concurrent clients of one server; null: half of max_clients, so a flood leaves the rest room.</summary>
    public int? MaxClientsPerServer { get; set; }

    /// <summary>Unauthenticated connections at once (control and data ports); null: max_connections / 8.</summary>
    public int? MaxPending { get; set; }

    /// <summary>Concurrent connections from one source network on a client port.</summary>
    public int MaxClientConnectionsPerIp { get; set; } = 256;

    /// <summary>Unauthenticated connections from one network on the control and data ports together.</summary>
    public int MaxPendingPerIp { get; set; } = 64;

    /// <summary>How per-address limits group IPv4 sources, in prefix bits (32: each address).</summary>
    public int IPv4PrefixBits { get; set; } = 32;

    /// <summary>How per-address limits group IPv6 sources, in prefix bits (64: one host's usual network).</summary>
    public int IPv6PrefixBits { get; set; } = 64;

    /// <summary>Connections no client and no unauthenticated peer can take: agents' control and data.</summary>
    public int AgentReserve => Math.Max(16, MaxConnections / 8);

    public int EffectiveMaxPending => MaxPending ?? Math.Max(16, MaxConnections / 8);

    public int EffectiveMaxClients => MaxClients ?? Math.Max(1, MaxConnections - EffectiveMaxPending - AgentReserve);

    public int EffectiveMaxClientsPerServer => MaxClientsPerServer ?? Math.Max(1, EffectiveMaxClients / 2);

    public Gray.Net.AddressPrefix AddressPrefix => new(IPv4PrefixBits, IPv6PrefixBits);

    /// <summary>Rules for servers that have none of their own.</summary>
    public ServerRules DefaultRules { get; set; } = new();

    /// <summary>Rules by server ID.</summary>
    public Dictionary<string, ServerRules> Servers { get; set; } = new();

    public ServerRules RulesFor(string id) => Servers.GetValueOrDefault(id) ?? DefaultRules;

    /// <summary>Servers declared in the file (with their secrets): the registry is made to match them.</summary>
    public Dictionary<string, DeclaredServer> Declared { get; set; } = new();

    public bool Console { get; set; } = true;

    /// <summary>
    /// Agent public keys that may authenticate instead of a secret: a path, or a file:// or https:// URL.
    /// </summary>
    public string? TrustedKeysSource { get; set; }

    public TimeSpan TrustedKeysRefresh { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>May the key set come from a plain http:// URL? Anyone on the path could then add a key.</summary>
    public bool TrustedKeysAllowHttp { get; set; }

    /// <summary>Where metrics are pushed over OTLP/HTTP (e.g. http://collector:4318); null pushes none.</summary>
    public Uri? OtlpEndpoint { get; set; }

    public TimeSpan OtlpInterval { get; set; } = OtlpExport.DefaultInterval;

    /// <summary>Least important log level written (a reload may change it).</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } =
        Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>The default address of the HTTP control plane: loopback, for SSH port-forwards.</summary>
    public static readonly IPEndPoint DefaultHttpListen = new(IPAddress.Loopback, 44580);

    /// <summary>
    /// Where the HTTP control plane (API, /metrics, health, dashboard) listens; null (http.listen: off) serves none.
    /// </summary>
    public IPEndPoint? HttpListen { get; set; } = DefaultHttpListen;

    /// <summary>Serve the control plane over TLS: with the relay's certificate, or HttpCertificatePath's.</summary>
    public bool HttpTls { get; set; }

    /// <summary>PEM certificate and key for the control plane; without them it uses the relay's own.</summary>
    public string? HttpCertificatePath { get; set; }

    public string? HttpKeyPath { get; set; }

    /// <summary>Agents may connect to the control plane's port as WebSockets (wss://HOST/gray; http.agents).</summary>
    public bool HttpAgents { get; set; } = true;

    /// <summary>Endpoints served without a token (http.open): metrics, healthz, readyz. None by default.</summary>
    public IReadOnlySet<string> HttpOpen { get; set; } = new HashSet<string>();

    public IPAddress EffectivePublicBind => PublicBind ?? Control.Address;
}

/// <summary>A server declared in the relay's file: its ID, secret and (optionally) fixed ports.</summary>
public sealed record DeclaredServer(string Id, string Secret, int? ClientPort, int? DataPort,
    ServerProtocols Protocols = ServerProtocols.Tcp)
{
    /// <summary>Host names it claims on the shared ports (HostRouting).</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];
}

/// <summary>
/// Where the relay's settings come from, so that a reload can read them again: the file, then the flags.
/// </summary>
public sealed record RelayConfigSource(string? Path, Func<RelayOptions> Load);

/// <summary>Per-server rules: pool size, who may connect to the client port, and idle pairs.</summary>
public sealed record ServerRules
{
    public int MaxPool { get; init; } = Protocol.Wire.MaxPool;

    public IReadOnlyList<string> ClientAllow { get; init; } = [];

    public IReadOnlyList<string> ClientDeny { get; init; } = [];

    /// <summary>A pair idle this long by default: haproxy's usual tunnel timeout, which SSH users accept.</summary>
    public static readonly TimeSpan DefaultPairIdleTimeout = TimeSpan.FromHours(1);

    /// <summary>Close a pair that carried no byte for this long; null (pair_idle_timeout: off) never does.</summary>
    public TimeSpan? PairIdleTimeout { get; init; } = DefaultPairIdleTimeout;

    /// <summary>Data connections on a port of the server's own (data_port: separate, or a number), instead of
    /// the control port; plain data and agents older than protocol 3 always get one.</summary>
    public bool SeparateDataPort { get; init; }

    /// <summary>Bandwidth limits from the relay file (an API override wins; see ServerEntry).</summary>
    public Bandwidth Bandwidth { get; init; } = Bandwidth.None;

    /// <summary>How this server's agent may prove itself (auth: key refuses the secret).</summary>
    public ServerAuth Auth { get; init; } = ServerAuth.SecretOrKey;

    /// <summary>HTTP basic authentication the HTTP entry point asks of this server's clients; null: none.</summary>
    public HttpCredentials? HttpAuth { get; init; }

    /// <summary>The Host header the HTTP entry point sends this server's service instead of the client's
    /// (host_header, as frp's host_header_rewrite); null keeps the client's.</summary>
    public string? HostHeader { get; init; }

    public Gray.Net.AddressRules ToAddressRules() => Gray.Net.AddressRules.Parse(ClientAllow, ClientDeny);
}

/// <summary>How a server's agent may prove itself.</summary>
public enum ServerAuth
{
    /// <summary>With the server's secret, or with a trusted key if the relay has some.</summary>
    SecretOrKey,

    /// <summary>Only with a trusted key: the secret is refused (auth: key).</summary>
    KeyOnly,
}

/// <summary>A user and password for HTTP basic authentication; the password never reaches a log.</summary>
public sealed record HttpCredentials(string User, string Password)
{
    public override string ToString() => $"{User}:***";
}
