// The multiplexing wire format: an 8-byte header (type, reserved, u16 length, u32 channel) and a payload.
using System.Buffers.Binary;

namespace Gray.Net.Multiplexing;

internal enum MuxFrameType : byte
{
    Open = 0x01,
    Data = 0x02,
    Window = 0x03,
    Fin = 0x04,
    Reset = 0x05,
}

/// <summary>
/// One queued frame; <see cref="Buffer"/> (pooled) holds the payload, if any. A data entry may hold up
/// to <see cref="MuxOptions.ChunkBytes"/>: it goes out as several data frames.
/// </summary>
internal readonly record struct MuxFrame(MuxFrameType Type, uint Channel, byte[]? Buffer, int Length, uint Value = 0)
{
    public const int HeaderBytes = 8;

    public const int WindowPayloadBytes = 4;

    /// <summary>
    /// Writes a header and <paramref name="payload"/> at the start of <paramref name="destination"/>.
    /// </summary>
    public static int Write(Span<byte> destination, MuxFrameType type, uint channel, ReadOnlySpan<byte> payload)
    {
        destination[0] = (byte)type;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], channel);
        payload.CopyTo(destination[HeaderBytes..]);
        return HeaderBytes + payload.Length;
    }

    public static int WriteWindow(Span<byte> destination, uint channel, uint grant)
    {
        int header = Write(destination, MuxFrameType.Window, channel, default);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], WindowPayloadBytes);
        BinaryPrimitives.WriteUInt32BigEndian(destination[header..], grant);
        return header + WindowPayloadBytes;
    }
}
