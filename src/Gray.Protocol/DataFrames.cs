// The two messages of a data connection, fixed in size and not length-prefixed: the agent's preface
// (what kind of connection, and its OTP) and the relay's start frame (a client arrived, from where).
using System.Net;
using System.Net.Sockets;
using Gray.Net;

namespace Gray.Protocol;

/// <summary>Agent → relay, first on a data connection.</summary>
public sealed record DataPreface(DataConnectionKind Kind, byte[] Otp)
{
    public bool Multiplexed => Kind == DataConnectionKind.Multiplexed;

    public byte[] Encode()
    {
        if (Otp.Length != Wire.OtpBytes) throw new ArgumentException($"an OTP has {Wire.OtpBytes} bytes", nameof(Otp));
        var preface = new byte[Wire.DataPrefaceBytes];
        var writer = new SpanWriter(preface);
        writer.U8((byte)Kind);
        writer.Bytes(Otp);
        return preface;
    }

    public static DataPreface Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Wire.DataPrefaceBytes) throw new ProtocolException("short data preface");
        var reader = new SpanReader(bytes);
        var kind = (DataConnectionKind)reader.U8();
        if (!Enum.IsDefined(kind)) throw new ProtocolException($"unsupported data connection kind {(byte)kind}");
        return new DataPreface(kind, reader.Bytes(Wire.OtpBytes));
    }
}

/// <summary>Relay → agent on a pooled data connection (or a channel's open payload): a client, from where.</summary>
/// <paramref name="Datagrams"/>: a UDP flow from that client (only as a channel's open payload): the channel
/// carries its datagrams, each a u16 length and its bytes.
public sealed record Start(IPEndPoint Client, bool Datagrams = false)
{
    private const byte FamilyV4 = 4, FamilyV6 = 6;

    private const int AddressBytes = 16;

    public byte[] Encode()
    {
        var frame = new byte[Wire.StartFrameBytes];
        var writer = new SpanWriter(frame);
        IPAddress address = Client.Address.IsIPv4MappedToIPv6 ? Client.Address.MapToIPv4() : Client.Address;
        writer.U8((byte)(Datagrams ? DataFrameType.StartDatagrams : DataFrameType.Start));
        writer.U8(address.AddressFamily == AddressFamily.InterNetwork ? FamilyV4 : FamilyV6);
        Span<byte> bytes = stackalloc byte[AddressBytes];
        bytes.Clear();
        address.TryWriteBytes(bytes, out _);
        writer.Bytes(bytes);
        writer.U16((ushort)Client.Port);
        return frame;
    }

    public static Start Decode(ReadOnlySpan<byte> frame)
    {
        if (frame.Length != Wire.StartFrameBytes) throw new ProtocolException("malformed start frame");
        var reader = new SpanReader(frame);
        bool datagrams = reader.U8() switch
        {
            (byte)DataFrameType.Start => false,
            (byte)DataFrameType.StartDatagrams => true,
            _ => throw new ProtocolException("malformed start frame"),
        };
        byte family = reader.U8();
        var bytes = reader.Span(AddressBytes);
        var address = family switch
        {
            FamilyV4 => new IPAddress(bytes[..4]),
            FamilyV6 => new IPAddress(bytes),
            _ => throw new ProtocolException("unknown address family in start frame"),
        };
        return new Start(new IPEndPoint(address, reader.U16()), datagrams);
    }
}
