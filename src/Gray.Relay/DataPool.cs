// The data connections a tunnel keeps ready for clients, in one of two kinds chosen once, when the
// agent connects: pooled connections, each used by one client and then gone; or multiplexed ones,
// each carrying a channel per client for as long as it lives. Not thread-safe: the tunnel holds the lock.
namespace Gray.Relay;

internal interface IDataPool
{
    /// <summary>Connections that count against the pool size the agent asked for.</summary>
    int Count { get; }

    /// <summary>True if one connection serves every waiting client at once (multiplexed).</summary>
    bool ServesManyClients { get; }

    /// <summary>A connection for one client, or null: a pooled one leaves the pool; a multiplexed one stays.</summary>
    DataLink? TryTake();

    void Add(DataLink data);

    /// <summary>False if <paramref name="data"/> was not in the pool (already taken, or removed).</summary>
    bool Remove(DataLink data);

    /// <summary>Empties the pool; returns what it held.</summary>
    List<DataLink> Clear();

    static IDataPool Create(bool multiplexed) => multiplexed ? new MultiplexedPool() : new PooledConnections();
}

/// <summary>Pooled connections, first in first out: the oldest has proved longest that it is alive.</summary>
internal sealed class PooledConnections : IDataPool
{
    private readonly LinkedList<DataLink> _ready = new();

    public int Count => _ready.Count;

    public bool ServesManyClients => false;

    public DataLink? TryTake()
    {
        if (_ready.First is not { } first) return null;
        _ready.RemoveFirst();
        return first.Value;
    }

    public void Add(DataLink data) => _ready.AddLast(data);

    public bool Remove(DataLink data) => _ready.Remove(data);

    public List<DataLink> Clear()
    {
        List<DataLink> all = [.. _ready];
        _ready.Clear();
        return all;
    }
}

/// <summary>Multiplexed connections; a client gets a channel on the one with the fewest channels.</summary>
internal sealed class MultiplexedPool : IDataPool
{
    private readonly List<DataLink> _connections = new();

    public int Count => _connections.Count;

    public bool ServesManyClients => true;

    public DataLink? TryTake()
    {
        DataLink? best = null;
        int bestCount = int.MaxValue;
        foreach (var data in _connections)
        {
            var mux = data.Mux!;
            if (!mux.IsAvailable) continue;
            int count = mux.ChannelCount;
            if (count < bestCount)
            {
                best = data;
                bestCount = count;
            }
        }

        return best;
    }

    public void Add(DataLink data) => _connections.Add(data);

    public bool Remove(DataLink data) => _connections.Remove(data);

    public List<DataLink> Clear()
    {
        List<DataLink> all = [.. _connections];
        _connections.Clear();
        return all;
    }
}
