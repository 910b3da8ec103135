// Limits shared by several servers: a global connection budget, per-address counts, and
// allow/deny rules by network (CIDR).
using System.Collections.Concurrent;
using System.Net;

namespace Gray.Net;

/// <summary>A count of connections with a limit, shared by every server that holds it.</summary>
public sealed class ConnectionQuota(int limit)
{
    private int _current;

    /// <summary>May be changed at any time; connections over a lowered limit are not closed.</summary>
    public int Limit { get; set; } = limit;

    public int Current => Volatile.Read(ref _current);

    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _current) <= Limit) return true;
        Interlocked.Decrement(ref _current);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _current);
}

/// <summary>Connections per source address, with a limit per address.</summary>
public sealed class AddressQuota(int limitPerAddress, AddressPrefix? prefix = null)
{
    private readonly AddressPrefix _prefix = prefix ?? AddressPrefix.Exact;

    private readonly ConcurrentDictionary<IPAddress, int> _counts = new();

    public int LimitPerAddress { get; set; } = limitPerAddress;

    public int CountOf(IPAddress address) => _counts.GetValueOrDefault(_prefix.KeyOf(address));

    public bool TryAcquire(IPAddress address)
    {
        address = _prefix.KeyOf(address);
        while (true)
        {
            int current = _counts.GetValueOrDefault(address);
            if (current >= LimitPerAddress) return false;
            if (current == 0 ? _counts.TryAdd(address, 1) : _counts.TryUpdate(address, current + 1, current))
            {
                return true;
            }
        }
    }

    public void Release(IPAddress address)
    {
        address = _prefix.KeyOf(address);
        while (true)
        {
            int current = _counts.GetValueOrDefault(address);
            if (current <= 0) return;
            bool done = current == 1
                ? _counts.TryRemove(KeyValuePair.Create(address, 1))
                : _counts.TryUpdate(address, current - 1, current);
            if (done) return;
        }
    }
}

/// <summary>Which source addresses may connect: a deny list wins; a non-empty allow list must match.</summary>
public sealed class AddressRules
{
    public static readonly AddressRules AllowAll = new([], []);

    public AddressRules(IReadOnlyList<IPNetwork> allow, IReadOnlyList<IPNetwork> deny)
    {
        Allow = allow;
        Deny = deny;
    }

    public IReadOnlyList<IPNetwork> Allow { get; }

    public IReadOnlyList<IPNetwork> Deny { get; }

    /// <summary>Parses CIDRs ("10.0.0.0/8", "2001:db8::/32"); a bare address is a /32 or /128.</summary>
    public static AddressRules Parse(IEnumerable<string> allow, IEnumerable<string> deny) =>
        new(allow.Select(ParseNetwork).ToArray(), deny.Select(ParseNetwork).ToArray());

    public static IPNetwork ParseNetwork(string text)
    {
        IPNetwork network = text.Contains('/') ? IPNetwork.Parse(text)
            : IPAddress.TryParse(text, out var address)
            ? new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128)
            : throw new FormatException($"'{text}' is not an address or a network in CIDR form");

        // ::ffff:a.b.c.d/n names IPv4 addresses, which are compared as IPv4.
        return network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network;
    }

    public bool IsAllowed(IPAddress address)
    {
        address = Normalize(address);
        foreach (var network in Deny)
        {
            if (network.Contains(address)) return false;
        }

        if (Allow.Count == 0) return true;
        foreach (var network in Allow)
        {
            if (network.Contains(address)) return true;
        }

        return false;
    }

    /// <summary>IPv4-mapped IPv6 addresses (dual-stack sockets) compare as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
