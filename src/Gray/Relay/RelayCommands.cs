// The relay's admin operations, shared by the admin endpoint and the console (one way to do each).
using Gray.Admin;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

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
        relay.Registry.List()
            .Select(e => relay.Manager.Find(e.Id) is { } live
                ? new ServerView(e.Id, e.ClientPort, e.DataPort, Connected: true, PoolReady: live.ReadyCount, ActivePairs: live.ActivePairs)
                : new ServerView(e.Id, e.ClientPort, e.DataPort, Connected: false, PoolReady: 0, ActivePairs: 0))
            .ToList();

    /// <summary>Removes the server, drops its live agent and pairs, and frees its ports.</summary>
    public async Task<bool> DeleteAsync(string id)
    {
        if (!relay.Registry.Delete(id)) return false;
        if (relay.Manager.Find(id) is { } live)
        {
            await live.ShutdownAsync("deleted by an administrator", keepPairs: false, ErrorCode.Deleted).ConfigureAwait(false);
        }

        RelayLog.ServerDeleted(_log, id);
        return true;
    }

    public void Shutdown() => requestShutdown();
}
