// The relay's admin operations, one way to do each: the HTTP API and the console both call these.
using System.Net;
using Gray.Hosting;
using Gray.Protocol;
using Gray.Relay.ControlPlane;
using Gray.Relay.Events;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed partial class RelayCommands(RelayContext relay, Action requestShutdown)
{
    private readonly ILogger _log = relay.LoggerFactory.CreateLogger<RelayCommands>();

    public RelayContext Relay => relay;

    public string Fingerprint => relay.Fingerprint;

    private IPEndPoint ControlEndPoint => relay.ControlEndPoint ?? relay.Options.Control;

    private volatile bool _stopping;

    /// <summary>True once the relay began to stop: /readyz then says so.</summary>
    public bool IsStopping
    {
        get => _stopping;
        set => _stopping = value;
    }

    public AddedServerView Add(AddServerRequest request)
    {
        string id = request.Id ?? "";
        if (!Auth.IsValidId(id))
        {
            throw new FormatException($"invalid id: use 1 to {Wire.MaxIdBytes} of A-Z a-z 0-9 . _ -");
        }

        var entry = relay.Registry.Add(id, request.ClientPort, request.DataPort, ParseType(request.Type),
            request.Hosts);
        RelayLog.ServerAdded(_log, entry.Id, RelayLog.ClientsText(entry.ClientPort, entry.Hosts), entry.DataPort);
        relay.Events.Publish(RelayEventTypes.ServerAdded, entry.Id);
        return new AddedServerView(entry.Id, entry.ClientPort, entry.DataPort, entry.Secret,
            $"gray agent --relay RELAY:{ControlEndPoint.Port} --id {entry.Id} --secret-file FILE " +
            $"--fingerprint {relay.Fingerprint} --target HOST:PORT", entry.Hosts);
    }

    /// <summary>Replaces a server's host names; false if there is no such server. A live agent keeps its
    /// session: routing reads the registry on every connection.</summary>
    public bool SetHosts(string id, IReadOnlyList<string> hosts)
    {
        if (relay.Registry.Find(id) is null) return false;
        if (relay.Registry.DeclaredIds().Contains(id))
        {
            throw new RegistryException($"server '{id}' is declared in the relay's file: change its hosts there");
        }

        return relay.Registry.SetHosts(id, hosts);
    }

    public ServerListView List()
    {
        var declared = relay.Registry.DeclaredIds();
        return new ServerListView(Limits(), [.. relay.Registry.List().Select(e => View(e, declared))]);
    }

    public ServerView? Find(string id) =>
        relay.Registry.Find(id) is { } entry ? View(entry, relay.Registry.DeclaredIds()) : null;

    private ServerView View(ServerEntry e, IReadOnlySet<string> declared)
    {
        var live = relay.Manager.Find(e.Id);
        var rules = relay.Options.RulesFor(e.Id);
        return new ServerView(e.Id, e.ClientPort, e.DataPort, declared.Contains(e.Id), relay.IsDraining(e.Id),
            new RulesView(rules.MaxPool, rules.ClientAllow, rules.ClientDeny, Duration(rules.PairIdleTimeout),
                BandwidthView.From(relay.BandwidthFor(e.Id)), e.BandwidthOverride is not null),
            live is null ? null : Agent(live), live?.ActivePairs ?? 0, live?.WaitingCount ?? 0, live?.BytesIn ?? 0,
            live?.BytesOut ?? 0, TypeName(e.Protocols),
            live?.Udp is { } udp ? new UdpView(udp.FlowCount, udp.Dropped, udp.Refused) : null, e.Hosts);
    }

    public static string TypeName(ServerProtocols protocols) => protocols switch
    {
        ServerProtocols.Udp => "udp",
        ServerProtocols.Tcp | ServerProtocols.Udp => "tcp+udp",
        _ => "tcp",
    };

    private static ServerProtocols ParseType(string? type) => type switch
    {
        null or "" or "tcp" => ServerProtocols.Tcp,
        "udp" => ServerProtocols.Udp,
        "tcp+udp" or "udp+tcp" => ServerProtocols.Tcp | ServerProtocols.Udp,
        _ => throw new FormatException($"type '{type}' is none of tcp, udp, tcp+udp"),
    };

    private static AgentView Agent(RelayTunnel live) =>
        new((live.AgentEndPoint as IPEndPoint)?.Address.ToString() ?? "", live.ConnectedAt, live.Software,
            live.ReadyCount, live.Pool, live.Mux, live.PlainData, live.AuthKey is not null,
            live.RoundTrip?.TotalMilliseconds,
            live.ProxyProtocol == ProxyProtocolVersion.None ? null : $"v{(int)live.ProxyProtocol}");

    public LimitsView Limits()
    {
        var o = relay.Options;
        return new LimitsView(o.MaxConnections, relay.Connections.Current, o.MaxClientConnectionsPerIp,
            o.MaxPendingPerIp, o.EffectiveMaxClients, relay.Clients.Current, o.EffectiveMaxClientsPerServer,
            o.EffectiveMaxPending, relay.Pending.Count, o.AgentReserve, $"/{o.IPv4PrefixBits}, /{o.IPv6PrefixBits}",
            Duration(o.HandshakeTimeout), Duration(o.HelloTimeout), Duration(o.OtpTimeout),
            Duration(o.ClientWaitTimeout), o.MaxWaitingClients, relay.DrainAll);
    }

    public RelayStatusView Status(string version)
    {
        var now = relay.Time.GetUtcNow();
        int agents = relay.Manager.All.Count;
        return new RelayStatusView(version, relay.StartedAt, Math.Round((now - relay.StartedAt).TotalSeconds, 3),
            relay.Fingerprint, ControlEndPoint.ToString(), Limits(),
            new ConnectionCounts(relay.Connections.Current, relay.Clients.Current, relay.Pending.Count, agents,
                relay.Events.SubscriberCount));
    }

    /// <summary>The clients of a server's client port (none while its agent is away).</summary>
    public IReadOnlyList<ClientView> Clients(string id)
    {
        Require(id);
        var live = relay.Manager.Find(id);
        if (live is null) return [];
        return [.. live.Clients().Select(s => s.RemoteEndPoint is IPEndPoint from
            ? new ClientView(s.Id, from.Address.ToString(), from.Port, s.ConnectedAt, s.BytesReceived, s.BytesSent)
            : null).OfType<ClientView>()];
    }

    /// <summary>Stops accepting new clients for one server (or all, with null); running pairs go on.</summary>
    /// <summary>Sets a server's bandwidth limits (null: back to the relay file's); running pairs follow at
    /// once.</summary>
    public void SetBandwidth(string id, Bandwidth? bandwidth)
    {
        if (bandwidth is { In: < 0 } or { Out: < 0 } or { PerClientIn: < 0 } or { PerClientOut: < 0 })
        {
            throw new FormatException("bandwidth limits are bytes per second, 0 for none");
        }

        if (!relay.Registry.SetBandwidth(id, bandwidth)) throw new UnknownServerException(id);
        relay.Manager.Find(id)?.Bandwidth.Refresh();
        _log.LogInformation("Server {Id}: bandwidth {Bandwidth}", id,
            bandwidth is null ? "from the relay file" : bandwidth.ToString());
    }

    public void Drain(string? id)
    {
        if (id is not null) Require(id);
        relay.Drain(id);
        _log.LogInformation("Draining {Servers}: new clients are refused, running pairs go on", id ?? "every server");
        relay.Events.Publish(RelayEventTypes.Drained, id);
    }

    public void Resume(string? id)
    {
        if (id is not null) Require(id);
        relay.Resume(id);
        _log.LogInformation("Resumed {Servers}", id ?? "every server");
        relay.Events.Publish(RelayEventTypes.Resumed, id);
    }

    /// <summary>Ends the pairs of every client from <paramref name="client"/> on server
    /// <paramref name="id"/>.</summary>
    public int Kick(string id, string client)
    {
        Require(id);
        if (!IPAddress.TryParse(client, out var address))
        {
            throw new FormatException($"'{client}' is not an IP address");
        }
        int kicked = relay.Manager.Find(id)?.Kick(address) ?? 0;
        _log.LogInformation("Server {ServerId}: kicked {Count} connections of client {Client}", id, kicked, address);
        return kicked;
    }

    /// <summary>Ends one client connection by its ID (from <see cref="Clients"/>).</summary>
    public int KickConnection(string id, long connection)
    {
        Require(id);
        int kicked = relay.Manager.Find(id)?.KickClient(connection) == true ? 1 : 0;
        _log.LogInformation("Server {ServerId}: kicked client connection {Connection}", id, connection);
        return kicked;
    }

    public CreatedTokenView CreateToken(ApiScope scope, string name)
    {
        var (info, token) = relay.Registry.CreateToken(scope, name);
        _log.LogInformation("Created {Scope} token {TokenId} ({Name})", Registry.ScopeName(scope), info.Id,
            LogText.Escape(name));
        return new CreatedTokenView(info.Id, Registry.ScopeName(scope), info.Name, token);
    }

    public bool RevokeToken(string tokenId)
    {
        bool revoked = relay.Registry.RevokeToken(tokenId);
        if (revoked) _log.LogInformation("Revoked token {TokenId}", tokenId);
        return revoked;
    }

    public IReadOnlyList<TokenView> Tokens() =>
        [.. relay.Registry.ListTokens().Select(t => new TokenView(t.Id, Registry.ScopeName(t.Scope), t.Name,
            t.CreatedAt))];

    private void Require(string id)
    {
        if (relay.Registry.Find(id) is null) throw new UnknownServerException(id);
    }

    private static string Duration(TimeSpan? value) => SettingText.FormatDuration(value);

    /// <summary>Removes the server, drops its live agent and pairs, and frees its ports.</summary>
    public async Task<bool> DeleteAsync(string id)
    {
        if (relay.Registry.DeclaredIds().Contains(id))
        {
            throw new RegistryException($"server '{id}' is declared in the configuration file; remove it there");
        }

        if (!relay.Registry.Delete(id)) return false;
        if (relay.Manager.Find(id) is { } live)
        {
            await live.ShutdownAsync("deleted by an administrator", keepPairs: false, ErrorCode.Deleted)
                .ConfigureAwait(false);
        }

        RelayLog.ServerDeleted(_log, id);
        relay.Events.Publish(RelayEventTypes.ServerDeleted, id);
        return true;
    }

    public void Shutdown() => requestShutdown();
}
