// A connection a shared port routed to a server by name becomes that server's client: the checks its
// own client port makes at accept (rules, drain), then the clients' budgets (all servers, this server,
// this address), then the same pairing and splice (ClientArrival).
using System.Net;
using Gray.Net;

namespace Gray.Relay.HostRouting;

internal static class RoutedArrival
{
    /// <summary>Would the server's own client port let this address in now?</summary>
    public static bool IsWelcome(RelayContext relay, RelayTunnel server, IPAddress address) =>
        server.ClientRules.IsAllowed(address) && !relay.IsDraining(server.Id);

    /// <summary>
    /// Serves <paramref name="session"/> as <paramref name="server"/>'s client; false if a budget refused
    /// it (counted under <paramref name="portKind"/>), true once its pair has ended.
    /// </summary>
    public static async Task<bool> ServeAsync(TcpSession session, RelayContext relay, RelayTunnel server,
        IPAddress address, ReadOnlyMemory<byte> readFromClient, string portKind, CancellationToken cancellationToken)
    {
        if (!relay.Clients.TryAcquire())
        {
            relay.Metrics.Refused(portKind, RefuseReason.GlobalLimit);
            return false;
        }

        try
        {
            var options = relay.Options;
            if (!server.Routed.TryAdd(session, address, options.EffectiveMaxClientsPerServer,
                    options.MaxClientConnectionsPerIp))
            {
                relay.Metrics.Refused(portKind, RefuseReason.AddressLimit);
                return false;
            }

            relay.Pending.Release(session); // a client of a server now, counted as one
            try
            {
                await ClientArrival.ServeAsync(session, server, readFromClient, cancellationToken)
                    .ConfigureAwait(false);
            }
            finally
            {
                server.Routed.Remove(session, address);
            }

            return true;
        }
        finally
        {
            relay.Clients.Release();
        }
    }
}
