// Holds the live RelayTunnels, one per connected agent, and replaces an older one by a newer one.
using System.Collections.Concurrent;

namespace Gray.Relay;

internal sealed class ServerManager
{
    private readonly ConcurrentDictionary<string, RelayTunnel> _servers = new();
    private readonly ConcurrentDictionary<string, RelayTunnel> _stopping = new(); // removed, ports not yet free
    private readonly SemaphoreSlim _activation = new(1, 1);

    public IReadOnlyCollection<RelayTunnel> All => _servers.Values.ToArray();

    public RelayTunnel? Find(string id) => _servers.GetValueOrDefault(id);

    /// <summary>
    /// Starts <paramref name="server"/>, first shutting down an older one for its ID (its pairs keep running).
    /// </summary>
    public async Task ActivateAsync(RelayTunnel server)
    {
        await _activation.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_servers.TryGetValue(server.Id, out var older))
            {
                await older.ShutdownAsync("replaced by a newer agent session", keepPairs: true,
                    Protocol.ErrorCode.Replaced).ConfigureAwait(false);
            }

            // An older session already on its way out (its agent just left) must free the ports first.
            if (_stopping.TryGetValue(server.Id, out var leaving)) await leaving.Stopped.ConfigureAwait(false);

            await server.StartAsync().ConfigureAwait(false);
            _servers[server.Id] = server;
        }
        finally
        {
            _activation.Release();
        }
    }

    /// <summary>A shutdown began: new agents for its ID wait until <see cref="Stopped"/>.</summary>
    public void Remove(RelayTunnel server)
    {
        if (_servers.TryRemove(KeyValuePair.Create(server.Id, server))) _stopping[server.Id] = server;
    }

    /// <summary>The shutdown has released the tunnel's ports.</summary>
    public void Stopped(RelayTunnel server) => _stopping.TryRemove(KeyValuePair.Create(server.Id, server));

    public async Task ShutdownAllAsync()
    {
        await Task.WhenAll(_servers.Values.Select(s =>
            s.ShutdownAsync("relay shutting down", keepPairs: false, Protocol.ErrorCode.ShuttingDown)))
                .ConfigureAwait(false);
    }
}
