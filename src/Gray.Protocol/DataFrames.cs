// The two messages of a data connection: the agent's OTP preface and the relay's start frame.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Gray.Protocol;

public static class DataFrames
{
    public static byte[] Preface(ReadOnlySpan<byte> otp, bool mux = false)
    {
        var preface = new byte[Wire.DataPrefaceBytes];
        preface[0] = mux ? Wire.DataKindMux : Wire.DataKindPooled;
        otp.CopyTo(preface.AsSpan(1));
        return preface;
    }

    /// <summary>The OTP from a preface, or a ProtocolException.</summary>
    public static ReadOnlySpan<byte> ParsePreface(ReadOnlySpan<byte> preface) => ParsePreface(preface, out _);

    /// <summary>The OTP from a preface and whether the connection is multiplexed, or a ProtocolException.</summary>
    public static ReadOnlySpan<byte> ParsePreface(ReadOnlySpan<byte> preface, out bool mux)
    {
        if (preface.Length != Wire.DataPrefaceBytes) throw new ProtocolException("short data preface");
        if (preface[0] is not (Wire.DataKindPooled or Wire.DataKindMux)) throw new ProtocolException($"unsupported data connection kind {preface[0]}");
        mux = preface[0] == Wire.DataKindMux;
        return preface[1..];
    }

    /// <summary>Start: the relay tells the agent a client arrived, and from where.</summary>
    public static byte[] Start(IPEndPoint client)
    {
        var frame = new byte[Wire.StartFrameBytes];
        frame[0] = Wire.StartFrameType;
        IPAddress address = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        frame[1] = address.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6;
        address.TryWriteBytes(frame.AsSpan(2, 16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)client.Port);
        return frame;
    }

    public static IPEndPoint ParseStart(ReadOnlySpan<byte> frame)
    {
        if (frame.Length != Wire.StartFrameBytes || frame[0] != Wire.StartFrameType)
        {
            throw new ProtocolException("malformed start frame");
        }

        var address = frame[1] switch
        {
            4 => new IPAddress(frame.Slice(2, 4)),
            6 => new IPAddress(frame.Slice(2, 16)),
            _ => throw new ProtocolException("unknown address family in start frame"),
        };
        return new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(frame[18..]));
    }
}
