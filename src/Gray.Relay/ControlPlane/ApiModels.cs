// The control plane's documents: what /api/v1 answers and accepts, and what `gray admin` prints
// from. Serialized by generated code only (the published binary is native; no reflection).
using System.Text.Json;
using System.Text.Json.Serialization;
using Gray.Relay.Events;

namespace Gray.Relay.ControlPlane;

/// <summary>The relay-wide limits and deadlines, given once at the top of a listing.</summary>
public sealed record LimitsView(
    int MaxConnections,
    int Connections,
    int MaxClientConnectionsPerIp,
    int MaxPendingPerIp,
    int MaxClients,
    int Clients,
    int MaxClientsPerServer,
    int MaxPending,
    int Pending,
    int AgentReserve,
    string AddressPrefix,
    string HandshakeTimeout,
    string HelloTimeout,
    string OtpTimeout,
    string ClientWaitTimeout,
    int MaxWaitingClients,
    bool DrainAll);

/// <summary>One server's rules; <paramref name="BandwidthFromApi"/>: its limits were set through the API,
/// and win over the relay file's until cleared.</summary>
public sealed record RulesView(int MaxPool, IReadOnlyList<string> ClientAllow, IReadOnlyList<string> ClientDeny,
    string PairIdleTimeout, BandwidthView Bandwidth, bool BandwidthFromApi);

/// <summary>Bandwidth limits in bytes per second, each way ("in": clients to the service); 0 is none.</summary>
public sealed record BandwidthView(long In, long Out, long PerClientIn, long PerClientOut)
{
    public static BandwidthView From(Bandwidth b) => new(b.In, b.Out, b.PerClientIn, b.PerClientOut);

    public Bandwidth ToBandwidth() => new(In, Out, PerClientIn, PerClientOut);
}

/// <summary>A connected agent.</summary>
/// <param name="Software">The agent's program and version, when it says (gray/0.1.0).</param>
/// <param name="PingMilliseconds">The latest control-channel round trip; null before the first.</param>
/// <param name="ProxyProtocol">"v1" or "v2" when the agent writes PROXY headers to its service.</param>
public sealed record AgentView(
    string Address,
    DateTimeOffset ConnectedSince,
    string? Software,
    int PoolReady,
    int PoolTarget,
    bool Mux,
    bool PlainData,
    bool KeyAuth,
    double? PingMilliseconds,
    string? ProxyProtocol = null);

/// <summary>A registered server; <paramref name="Agent"/> is null while no agent is connected.</summary>
public sealed record ServerView(
    string Id,
    int? ClientPort,
    int DataPort,
    bool Declared,
    bool Draining,
    RulesView Rules,
    AgentView? Agent,
    int ActivePairs,
    int WaitingClients,
    long BytesIn,
    long BytesOut,
    string Type = "tcp",
    UdpView? Udp = null,
    IReadOnlyList<string>? Hosts = null)
{
    public bool Connected => Agent is not null;
}

/// <summary>A UDP client port's flows (client addresses with datagrams under way) and datagrams dropped
/// (no room toward the agent or the client) or refused (rules, drain, budgets).</summary>
public sealed record UdpView(int Flows, long Dropped, long Refused);

/// <summary>GET /api/v1/servers: the limits once, then every server.</summary>
public sealed record ServerListView(LimitsView Limits, IReadOnlyList<ServerView> Servers);

/// <summary>One client connection of a server's client port.</summary>
/// <param name="BytesIn">From the client toward the service.</param>
public sealed record ClientView(long Id, string Address, int Port, DateTimeOffset Since, long BytesIn, long BytesOut);

/// <summary>POST /api/v1/servers.</summary>
/// <param name="Type">What the client port carries: "tcp" (the default), "udp", or "tcp+udp".</param>
/// <param name="Hosts">Host names it claims on the shared HTTP and TLS ports; with them and no
/// <paramref name="ClientPort"/>, a TCP server gets no client port of its own.</param>
public sealed record AddServerRequest(string Id, int? ClientPort = null, int? DataPort = null, string? Type = null,
    IReadOnlyList<string>? Hosts = null);

/// <summary>PUT /api/v1/servers/{id}/hosts: the server's host names from now on.</summary>
public sealed record HostsRequest(IReadOnlyList<string> Hosts);

/// <summary>A new server with its secret, shown this once, and the agent command that uses it.</summary>
public sealed record AddedServerView(string Id, int? ClientPort, int DataPort, string Secret, string AgentCommand,
    IReadOnlyList<string>? Hosts = null);

/// <summary>How many connections a kick ended.</summary>
public sealed record KickResult(int Kicked);

/// <summary>Connections by class, as the budgets count them.</summary>
public sealed record ConnectionCounts(int Total, int Clients, int Pending, int Agents, int EventSubscribers);

/// <summary>GET /api/v1/relay.</summary>
public sealed record RelayStatusView(
    string Version,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    string Fingerprint,
    string Control,
    LimitsView Limits,
    ConnectionCounts Connections);

/// <summary>POST /api/v1/tokens.</summary>
public sealed record CreateTokenRequest(string Scope, string? Name = null);

/// <summary>A token as listings show it (never the token).</summary>
public sealed record TokenView(string Id, string Scope, string Name, DateTimeOffset CreatedAt);

/// <summary>A new token, shown this once.</summary>
public sealed record CreatedTokenView(string Id, string Scope, string Name, string Token);

/// <summary>GET /api/v1/me: the presented token's scope.</summary>
public sealed record SessionView(string Scope);

/// <summary>The certificate agents pin.</summary>
public sealed record FingerprintView(string Fingerprint);

/// <summary>Every error answer: one sentence, naming nothing an outsider should learn.</summary>
public sealed record ApiError(string Error);

/// <summary>Where `gray admin` finds the running relay: written by the relay into its data directory (0600).</summary>
/// <param name="Fingerprint">The SHA-256 of the certificate the endpoint presents, when it serves TLS.</param>
public sealed record AdminEndpointFile(string Url, string Token, string? Fingerprint = null)
{
    public const string FileName = "admin.json";
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ServerListView))]
[JsonSerializable(typeof(ServerView))]
[JsonSerializable(typeof(RulesView))]
[JsonSerializable(typeof(BandwidthView))]
[JsonSerializable(typeof(UdpView))]
[JsonSerializable(typeof(AgentView))]
[JsonSerializable(typeof(List<ClientView>))]
[JsonSerializable(typeof(List<AgentView>))]
[JsonSerializable(typeof(AddServerRequest))]
[JsonSerializable(typeof(AddedServerView))]
[JsonSerializable(typeof(HostsRequest))]
[JsonSerializable(typeof(KickResult))]
[JsonSerializable(typeof(RelayStatusView))]
[JsonSerializable(typeof(CreateTokenRequest))]
[JsonSerializable(typeof(List<TokenView>))]
[JsonSerializable(typeof(IReadOnlyList<TokenView>))]
[JsonSerializable(typeof(IReadOnlyList<ClientView>))]
[JsonSerializable(typeof(CreatedTokenView))]
[JsonSerializable(typeof(FingerprintView))]
[JsonSerializable(typeof(SessionView))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(AdminEndpointFile))]
[JsonSerializable(typeof(RelayEvent))]
[JsonSerializable(typeof(NodeListView))]
public sealed partial class ApiJson : JsonSerializerContext;
