// Servers declared in the relay's file: the registry is made to match them at start and on reload.
using Gray.Protocol;
using Gray.Hosting;

namespace Gray.Relay;

internal static class DeclaredServers
{
    /// <summary>
    /// Registers new and changed declared servers, deletes ones no longer declared; returns what changed.
    /// </summary>
    public static List<string> Sync(RelayContext relay, RelayOptions options)
    {
        var changes = new List<string>();
        foreach (string id in relay.Registry.DeclaredIds().Where(id => !options.Declared.ContainsKey(id)))
        {
            relay.Registry.Delete(id);
            Drop(relay, id, "no longer declared in the configuration", ErrorCode.Deleted);
            changes.Add($"server {id} removed");
        }

        foreach (var server in options.Declared.Values.OrderBy(s => s.Id, StringComparer.Ordinal))
        {
            var outcome = relay.Registry.Declare(server);
            if (outcome == DeclareOutcome.Unchanged) continue;
            if (outcome == DeclareOutcome.HostsChanged)
            {
                var names = relay.Registry.Find(server.Id)!.Hosts;
                changes.Add($"server {server.Id}: host names {(names.Count == 0 ? "none" : string.Join(", ", names))}");
                continue;
            }

            // A changed secret or port needs a new agent session: the agent reconnects (and proves itself again).
            Drop(relay, server.Id, "its declaration changed", ErrorCode.ShuttingDown);
            var entry = relay.Registry.Find(server.Id)!;
            changes.Add($"server {server.Id} declared (client port {entry.ClientPort}, data port {entry.DataPort})");
        }

        return changes;
    }

    private static void Drop(RelayContext relay, string id, string reason, ErrorCode code)
    {
        if (relay.Manager.Find(id) is { } live) Background.Observe(live.ShutdownAsync(reason, keepPairs: false, code),
            $"Server {id}: shutdown", live.Logger);
    }
}
