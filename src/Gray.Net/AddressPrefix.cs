// How per-address limits group source addresses. One IPv6 host usually holds a whole /64, so counting
// per single IPv6 address would give it billions of budgets; IPv4 is counted per address by default.
using System.Net;
using System.Net.Sockets;

namespace Gray.Net;

public sealed record AddressPrefix
{
    /// <summary>IPv4 by /32 and IPv6 by /64.</summary>
    public static readonly AddressPrefix Default = new(32, 64);

    /// <summary>Every address on its own.</summary>
    public static readonly AddressPrefix Exact = new(32, 128);

    public AddressPrefix(int ipv4Bits, int ipv6Bits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ipv4Bits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ipv4Bits, 32);
        ArgumentOutOfRangeException.ThrowIfNegative(ipv6Bits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ipv6Bits, 128);
        IPv4Bits = ipv4Bits;
        IPv6Bits = ipv6Bits;
    }

    public int IPv4Bits { get; }

    public int IPv6Bits { get; }

    /// <summary>The network <paramref name="address"/> counts against (IPv4-mapped IPv6 counts as IPv4).</summary>
    public IPAddress KeyOf(IPAddress address)
    {
        address = AddressRules.Normalize(address);
        int bits = address.AddressFamily == AddressFamily.InterNetwork ? IPv4Bits : IPv6Bits;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        if (bits >= length * 8) return address;
        for (int i = 0; i < length; i++)
        {
            int keep = Math.Clamp(bits - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }
}
