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
    DataSession? TryTake();

    void Add(DataSession data);

    /// <summary>False if <paramref name="data"/> was not in the pool (already taken, or removed).</summary>
    bool Remove(DataSession data);

    /// <summary>Empties the pool; returns what it held.</summary>
    List<DataSession> Clear();

    static IDataPool Create(bool multiplexed) => multiplexed ? new MultiplexedPool() : new PooledConnections();
}

/// <summary>Pooled connections, first in first out: the oldest has proved longest that it is alive.</summary>
internal sealed class PooledConnections : IDataPool
{
    private readonly LinkedList<DataSession> _ready = new();

    public int Count => _ready.Count;

    public bool ServesManyClients => false;

    public DataSession? TryTake()
    {
        if (_ready.First is not { } first) return null;
        _ready.RemoveFirst();
        return first.Value;
    }

    public void Add(DataSession data) => _ready.AddLast(data);

    public bool Remove(DataSession data) => _ready.Remove(data);

    public List<DataSession> Clear()
    {
        List<DataSession> all = [.. _ready];
        _ready.Clear();
        return all;
    }
}

/// <summary>Multiplexed connections; a client gets a channel on the one with the fewest channels.</summary>
internal sealed class MultiplexedPool : IDataPool
{
    private readonly List<DataSession> _connections = new();

    public int Count => _connections.Count;

    public bool ServesManyClients => true;

    public DataSession? TryTake()
    {
        DataSession? best = null;
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

    public void Add(DataSession data) => _connections.Add(data);

    public bool Remove(DataSession data) => _connections.Remove(data);

    public List<DataSession> Clear()
    {
        List<DataSession> all = [.. _connections];
        _connections.Clear();
        return all;
    }
}
