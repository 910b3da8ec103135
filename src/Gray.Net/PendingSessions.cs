// Connections that have not proved themselves yet, with a limit per address (network, by AddressPrefix)
// and one in total. At a limit the oldest such connection — of that address, or of all — is closed to
// admit the new one: whoever opens idle connections only pushes out their own oldest, and never shuts
// the door on a peer that authenticates within the time it takes to be pushed out.
using System.Net;

namespace Gray.Net;

public sealed class PendingSessions(int limitPerAddress, int limit, AddressPrefix prefix)
{
    private readonly object _gate = new();
    private readonly LinkedList<Entry> _all = new(); // oldest first
    private readonly Dictionary<IPAddress, LinkedList<Entry>> _byAddress = new();
    private readonly Dictionary<TcpSession, Entry> _entries = new(ReferenceEqualityComparer.Instance);
    private long _evicted;

    /// <summary>May be changed at any time; a lowered limit evicts at the next admission.</summary>
    public int LimitPerAddress { get; set; } = limitPerAddress;

    public int Limit { get; set; } = limit;

    public int Count
    {
        get { lock (_gate) return _all.Count; }
    }

    /// <summary>Sessions closed to make room, since the start.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    public int CountOf(IPAddress address)
    {
        lock (_gate) return _byAddress.TryGetValue(prefix.KeyOf(address), out var list) ? list.Count : 0;
    }

    /// <summary>Counts <paramref name="session"/> as pending, closing the oldest ones past a limit.</summary>
    public void Admit(TcpSession session, IPAddress address)
    {
        var evict = new List<TcpSession>();
        lock (_gate)
        {
            if (_entries.ContainsKey(session)) return;
            var key = prefix.KeyOf(address);
            if (!_byAddress.TryGetValue(key, out var mine)) _byAddress[key] = mine = new LinkedList<Entry>();
            var entry = new Entry(session, key);
            entry.InAll = _all.AddLast(entry);
            entry.InAddress = mine.AddLast(entry);
            _entries[session] = entry;
            while (mine.Count > Math.Max(1, LimitPerAddress)) evict.Add(RemoveLocked(mine.First!.Value));
            while (_all.Count > Math.Max(1, Limit)) evict.Add(RemoveLocked(_all.First!.Value));
        }

        Interlocked.Add(ref _evicted, evict.Count);
        foreach (var old in evict) old.Disconnect();
    }

    /// <summary><paramref name="session"/> proved itself or ended: it no longer counts. Idempotent.</summary>
    public void Release(TcpSession session)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(session, out var entry)) RemoveLocked(entry);
        }
    }

    private TcpSession RemoveLocked(Entry entry)
    {
        _entries.Remove(entry.Session);
        _all.Remove(entry.InAll!);
        var mine = entry.InAddress!.List!;
        mine.Remove(entry.InAddress);
        if (mine.Count == 0) _byAddress.Remove(entry.Key);
        return entry.Session;
    }

    private sealed class Entry(TcpSession session, IPAddress key)
    {
        public TcpSession Session { get; } = session;

        public IPAddress Key { get; } = key;

        public LinkedListNode<Entry>? InAll { get; set; }

        public LinkedListNode<Entry>? InAddress { get; set; }
    }
}
