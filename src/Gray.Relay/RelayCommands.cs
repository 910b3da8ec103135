// The relay's admin operations, shared by the admin endpoint and the console (one way to do each).
using Gray.Relay.Admin;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class RelayCommands(RelayContext relay, Action requestShutdown)
{
    private readonly ILogger _log = relay.LoggerFactory.CreateLogger<RelayCommands>();

    public string Fingerprint => relay.Fingerprint;

    public ServerView Add(string id, int? clientPort, int? dataPort)
    {
        var entry = relay.Registry.Add(id, clientPort, dataPort);
        RelayLog.ServerAdded(_log, entry.Id, entry.ClientPort, entry.DataPort);
        return new ServerView(entry.Id, entry.ClientPort, entry.DataPort, Secret: entry.Secret);
    }

    public IReadOnlyList<ServerView> Show() =>
        relay.Registry.List().Select(e =>
        {
            var live = relay.Manager.Find(e.Id);
            var rules = relay.Options.RulesFor(e.Id);
            return new ServerView(e.Id, e.ClientPort, e.DataPort, Connected: live is not null,
                PoolReady: live?.ReadyCount ?? 0, ActivePairs: live?.ActivePairs ?? 0, Draining: relay.IsDraining(e.Id),
                BytesIn: live?.BytesIn ?? 0, BytesOut: live?.BytesOut ?? 0,
                Rules: new RulesView(rules.MaxPool, rules.ClientAllow, rules.ClientDeny,
                    Duration(rules.PairIdleTimeout)));
        }).ToList();

    public LimitsView Limits()
    {
        var o = relay.Options;
        return new LimitsView(o.MaxConnections, relay.Connections.Current, o.MaxClientConnectionsPerIp,
            o.MaxPendingPerIp, o.EffectiveMaxClients, relay.Clients.Current, o.EffectiveMaxClientsPerServer,
            o.EffectiveMaxPending, relay.Pending.Count, o.AgentReserve, $"/{o.IPv4PrefixBits}, /{o.IPv6PrefixBits}",
            Duration(o.HandshakeTimeout), Duration(o.HelloTimeout), Duration(o.OtpTimeout),
            Duration(o.ClientWaitTimeout), o.MaxWaitingClients, relay.DrainAll);
    }

    /// <summary>Stops accepting new clients for one server (or all, with null); running pairs go on.</summary>
    public void Drain(string? id)
    {
        if (id is not null) Require(id);
        relay.Drain(id);
        _log.LogInformation("Draining {Servers}: new clients are refused, running pairs go on", id ?? "every server");
    }

    public void Resume(string? id)
    {
        if (id is not null) Require(id);
        relay.Resume(id);
        _log.LogInformation("Resumed {Servers}", id ?? "every server");
    }

    /// <summary>
    /// Ends the pairs of every client from <paramref name="client"/> on server <paramref name="id"/>.
    /// </summary>
    public int Kick(string id, string client)
    {
        Require(id);
        if (!System.Net.IPAddress.TryParse(client, out var address))
        {
            throw new FormatException($"'{client}' is not an IP address");
        }
        int kicked = relay.Manager.Find(id)?.Kick(address) ?? 0;
        _log.LogInformation("Server {ServerId}: kicked {Count} connections of client {Client}", id, kicked, address);
        return kicked;
    }

    private void Require(string id)
    {
        if (relay.Registry.Find(id) is null) throw new RegistryException($"no server '{id}'");
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
        return true;
    }

    public void Shutdown() => requestShutdown();
}
