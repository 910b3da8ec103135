// Clients a shared port routed to one server by name: they count against the server's budgets as its
// own port's clients do (per server, per client address), and its listings, byte counts and kicks
// include them.
using System.Collections.Concurrent;
using System.Net;
using Gray.Net;

namespace Gray.Relay.HostRouting;

internal sealed class RoutedClients(AddressPrefix prefix)
{
    private readonly ConcurrentDictionary<long, TcpSession> _sessions = new();
    private readonly AddressQuota _perAddress = new(int.MaxValue, prefix);
    private long _endedBytesIn, _endedBytesOut;
    private int _count;

    public long BytesIn => Interlocked.Read(ref _endedBytesIn) + _sessions.Values.Sum(s => s.BytesReceived);

    public long BytesOut => Interlocked.Read(ref _endedBytesOut) + _sessions.Values.Sum(s => s.BytesSent);

    /// <summary>Takes a place for <paramref name="session"/>; false if the server or its address is full.</summary>
    public bool TryAdd(TcpSession session, IPAddress address, int maxSessions, int maxPerAddress)
    {
        _perAddress.LimitPerAddress = maxPerAddress;
        if (Interlocked.Increment(ref _count) > maxSessions)
        {
            Interlocked.Decrement(ref _count);
            return false;
        }

        if (!_perAddress.TryAcquire(address))
        {
            Interlocked.Decrement(ref _count);
            return false;
        }

        _sessions[session.Id] = session;
        return true;
    }

    public void Remove(TcpSession session, IPAddress address)
    {
        if (!_sessions.TryRemove(session.Id, out _)) return;
        Interlocked.Add(ref _endedBytesIn, session.BytesReceived);
        Interlocked.Add(ref _endedBytesOut, session.BytesSent);
        _perAddress.Release(address);
        Interlocked.Decrement(ref _count);
    }

    public IEnumerable<SessionInfo> Sessions() => _sessions.Values.Where(s => s.IsConnected).Select(s => s.ToInfo());

    public bool Disconnect(long id)
    {
        if (!_sessions.TryGetValue(id, out var session)) return false;
        session.Disconnect();
        return true;
    }

    public void DisconnectAll()
    {
        foreach (var session in _sessions.Values) session.Disconnect();
    }

    public int DisconnectAddress(IPAddress address)
    {
        int count = 0;
        address = Plain(address);
        foreach (var session in _sessions.Values)
        {
            if (session.RemoteEndPoint is IPEndPoint ip && Plain(ip.Address).Equals(address))
            {
                session.Disconnect();
                count++;
            }
        }

        return count;
    }

    private static IPAddress Plain(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
