// Servers declared in a relay's file, as the registry keeps them: flagged, and made to match the file at
// start and on reload (DeclaredServers), in place when only their names changed.
namespace Gray.Relay;

public sealed partial class Registry
{
    /// <summary>IDs registered from the config file (they are managed by it, not by `gray admin`).</summary>
    public IReadOnlySet<string> DeclaredIds() =>
        _entries.Values.Where(e => e.Declared).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);

    /// <summary>Makes a declared server's entry match the file, and says what that took.</summary>
    public DeclareOutcome Declare(DeclaredServer server)
    {
        lock (_gate)
        {
            var current = Find(server.Id);
            bool sameSecret = current?.Secret == server.Secret;
            bool samePorts = current is not null && (server.ClientPort ?? current.ClientPort) == current.ClientPort
                && (server.DataPort ?? current.DataPort) == current.DataPort;
            string[] hosts =
                [.. server.Hosts.Select(HostRouting.HostName.NormalizeClaim).Order(StringComparer.Ordinal)];
            if (current is not null && sameSecret && samePorts && current.Protocols == server.Protocols
                && current.Declared)
            {
                if (current.Hosts.SequenceEqual(hosts)) return DeclareOutcome.Unchanged;
                // Names alone changed: the entry and its agent's session stay (unless it needs a port now).
                if (hosts.Length > 0 || current.ClientPort is not null)
                {
                    SetHosts(server.Id, hosts);
                    return DeclareOutcome.HostsChanged;
                }
            }

            Register(server.Id, server.ClientPort ?? (samePorts ? current?.ClientPort : null),
                server.DataPort ?? (samePorts ? current?.DataPort : null), server.Protocols, server.Hosts,
                server.Secret, declared: true, replace: current is not null);
            return DeclareOutcome.Registered;
        }
    }
}
