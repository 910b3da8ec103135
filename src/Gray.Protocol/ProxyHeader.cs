// The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2) that an agent writes to its
// service before the client's first byte, so that the service logs and filters the client's own address
// instead of the agent's. Gray writes it and never reads one.
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gray.Protocol;

public enum ProxyProtocolVersion : byte
{
    None = 0,

    /// <summary>A text line ("PROXY TCP4 …\r\n"); TCP only.</summary>
    V1 = 1,

    /// <summary>Binary; TCP and UDP.</summary>
    V2 = 2,
}

public static class ProxyHeader
{
    /// <summary>Longest version 1 header, in bytes (the specification's bound, CRLF included).</summary>
    public const int MaxV1Bytes = 107;

    /// <summary>Version 2 header: 16 fixed bytes, then 12 (IPv4) or 36 (IPv6) bytes of addresses.</summary>
    public const int V2FixedBytes = 16;

    private const byte V2Proxy = 0x21; // version 2, command PROXY

    private static ReadOnlySpan<byte> V2Signature =>
        [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>
    /// The header for a connection (or, with <paramref name="datagram"/>, a UDP flow) from
    /// <paramref name="source"/> to <paramref name="destination"/>. IPv4-mapped addresses are written as
    /// IPv4; a destination of the other family is written in the source's (unspecified where it has none).
    /// </summary>
    public static byte[] Encode(ProxyProtocolVersion version, IPEndPoint source, IPEndPoint destination,
        bool datagram = false)
    {
        var (from, to) = SameFamily(source, destination);
        return version switch
        {
            ProxyProtocolVersion.V1 when datagram =>
                throw new ArgumentException("PROXY protocol version 1 carries TCP only", nameof(datagram)),
            ProxyProtocolVersion.V1 => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"PROXY TCP{(from.AddressFamily == AddressFamily.InterNetwork ? '4' : '6')} {from.Address} " +
                $"{to.Address} {from.Port} {to.Port}\r\n")),
            ProxyProtocolVersion.V2 => V2(from, to, datagram),
            _ => throw new ArgumentOutOfRangeException(nameof(version), version, "no header for this version"),
        };
    }

    private static byte[] V2(IPEndPoint from, IPEndPoint to, bool datagram)
    {
        bool v4 = from.AddressFamily == AddressFamily.InterNetwork;
        int addressBytes = v4 ? 4 : 16;
        var header = new byte[V2FixedBytes + 2 * addressBytes + 4];
        V2Signature.CopyTo(header);
        header[12] = V2Proxy;
        header[13] = (byte)((v4 ? 0x10 : 0x20) | (datagram ? 0x02 : 0x01)); // family, then transport
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)(header.Length - V2FixedBytes));
        var rest = header.AsSpan(V2FixedBytes);
        from.Address.TryWriteBytes(rest, out _);
        to.Address.TryWriteBytes(rest[addressBytes..], out _);
        BinaryPrimitives.WriteUInt16BigEndian(rest[(2 * addressBytes)..], (ushort)from.Port);
        BinaryPrimitives.WriteUInt16BigEndian(rest[(2 * addressBytes + 2)..], (ushort)to.Port);
        return header;
    }

    private static (IPEndPoint From, IPEndPoint To) SameFamily(IPEndPoint source, IPEndPoint destination)
    {
        var from = Unmapped(source);
        var to = Unmapped(destination);
        if (from.AddressFamily == to.AddressFamily) return (from, to);
        return (from, from.AddressFamily == AddressFamily.InterNetwork
            ? new IPEndPoint(IPAddress.Any, to.Port)
            : new IPEndPoint(to.Address.MapToIPv6(), to.Port));
    }

    private static IPEndPoint Unmapped(IPEndPoint endPoint) => endPoint.Address.IsIPv4MappedToIPv6
        ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
