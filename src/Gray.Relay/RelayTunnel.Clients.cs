// What the control plane sees of a tunnel's clients: their connections and bytes, and the kicks.
using System.Net;
using Gray.Net;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed partial class RelayTunnel
{
    /// <summary>The agent's program and version, as its Hello said (older agents say nothing).</summary>
    public string? Software { get; init; }

    /// <summary>The PROXY protocol header the agent says it writes to its service (shown, not enforced).</summary>
    public ProxyProtocolVersion ProxyProtocol { get; init; }

    /// <summary>Bytes from clients so far, running pairs included: its own port's and the routed ones.</summary>
    public long BytesIn => (_clients?.BytesReceived ?? 0) + Routed.BytesIn;

    /// <summary>Bytes to clients so far, running pairs included.</summary>
    public long BytesOut => (_clients?.BytesSent ?? 0) + Routed.BytesOut;

    /// <summary>Live client connections, for listings: its own port's and those routed to it by name.</summary>
    public IReadOnlyList<SessionInfo> Clients() => [.. _clients?.GetSessions() ?? [], .. Routed.Sessions()];

    /// <summary>Ends one client's connection by its ID; false if it is gone.</summary>
    public bool KickClient(long id) => (_clients?.DisconnectSession(id) ?? false) || Routed.Disconnect(id);

    /// <summary>Ends the pairs of every client from <paramref name="address"/>; returns how many.</summary>
    public int Kick(IPAddress address) =>
        (_clients?.DisconnectAddress(address) ?? 0) + Routed.DisconnectAddress(address);

    /// <summary>Clients the shared HTTP and TLS ports routed here by name.</summary>
    internal HostRouting.RoutedClients Routed { get; }

    /// <summary>Applies reloaded listener settings: the TLS deadline and the per-address client limit.</summary>
    public void ApplyListenerSettings(RelayOptions options)
    {
        if (_data is not null) _data.Options.HandshakeTimeout = options.HandshakeTimeout;
        if (_clients is not null)
        {
            _clients.Options.HandshakeTimeout = options.HandshakeTimeout;
            _clients.MaxSessionsPerAddress = options.MaxClientConnectionsPerIp;
            _clients.Options.MaxSessions = options.EffectiveMaxClientsPerServer;
        }
        Bandwidth.Refresh();
    }

    /// <summary>The server's bandwidth limits, applied to its pairs.</summary>
    internal ServerBandwidth Bandwidth { get; }

    /// <summary>What the client port carries.</summary>
    public ServerProtocols Protocols { get; }

    /// <summary>The UDP flows of a server whose client port carries UDP.</summary>
    internal UdpFlows? Udp { get; }
}
