// What this relay does when another node changed the registry: a live tunnel whose server was deleted, or
// registered again with another secret, ports or type, ends; its agent reconnects and proves itself again
// (a deleted server's then fails), as a declared server's does when its file changes. The others take their
// limits from the registry again. Drains and host names are read per connection already.
using Gray.Hosting;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal static class RegistryFollower
{
    public static void Apply(RelayContext relay, ILogger log)
    {
        foreach (var live in relay.Manager.All)
        {
            var entry = relay.Registry.Find(live.Id);
            if (entry is not null && entry.Secret == live.Entry.Secret && entry.ClientPort == live.ClientPort
                && entry.DataPort == live.DataPort && entry.Protocols == live.Protocols)
            {
                live.Bandwidth.Refresh();
                continue;
            }

            string reason = entry is null ? "deleted on another node" : "registered again on another node";
            log.LogInformation("Server {ServerId}: {Reason}; dropping its agent", live.Id, reason);
            Background.Observe(live.ShutdownAsync(reason, keepPairs: false, ErrorCode.ShuttingDown),
                $"Server {live.Id}: shutdown", log);
        }
    }
}
