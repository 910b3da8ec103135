// Control frames: a big-endian u32 length, a type byte, and the message (ControlMessages). Read with
// every limit checked before anything is allocated past the header.
using System.Buffers.Binary;
using Gray.Net;

namespace Gray.Protocol;

public static class ControlFrames
{
    /// <summary>Reads one message; null at a clean end of stream. Throws ProtocolException on bad bytes.</summary>
    public static Task<ControlMessage?> ReadAsync(Stream stream, CancellationToken cancellationToken) =>
        ReadAsync(stream, Wire.MaxFrameBytes, cancellationToken);

    /// <summary>The same, refusing a frame over <paramref name="maxFrameBytes"/> before reading its body.</summary>
    public static async Task<ControlMessage?> ReadAsync(Stream stream, int maxFrameBytes,
        CancellationToken cancellationToken)
    {
        var header = new byte[Wire.LengthBytes];
        int got = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken)
            .ConfigureAwait(false);
        if (got == 0) return null;
        if (got < header.Length) throw new ProtocolException("truncated frame header");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0) throw new ProtocolException("empty frame");
        if (length > maxFrameBytes) throw new ProtocolException($"frame of {length} bytes is over the " +
            $"{maxFrameBytes}-byte limit");
        var body = new byte[length];
        if (await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken)
            .ConfigureAwait(false) < body.Length)
        {
            throw new ProtocolException("truncated frame");
        }

        return Decode(body);
    }

    /// <summary>A frame's body (type byte and payload) as its message.</summary>
    public static ControlMessage Decode(ReadOnlySpan<byte> body)
    {
        var reader = new SpanReader(body[1..]);
        ControlMessage message = (FrameType)body[0] switch
        {
            FrameType.Hello => Hello.Read(ref reader),
            FrameType.Challenge => Challenge.Read(ref reader),
            FrameType.Proof => Proof.Read(ref reader),
            FrameType.SignedProof => SignedProof.Read(ref reader),
            FrameType.Welcome => Welcome.Read(ref reader),
            FrameType.Error => ErrorMessage.Read(ref reader),
            FrameType.Otps => Otps.Read(ref reader),
            FrameType.Ping => Ping.Read(ref reader),
            FrameType.Pong => Pong.Read(ref reader),
            FrameType.ClusterNodes => ClusterNodes.Read(ref reader),
            FrameType.DataOpen => DataOpen.Read(ref reader),
            _ => throw new ProtocolException($"unknown frame type 0x{body[0]:x2}"),
        };
        reader.End();
        return message;
    }

    /// <summary>The whole frame of <paramref name="message"/>, length first.</summary>
    public static byte[] Encode(ControlMessage message)
    {
        int bodyBytes = 1 + message.PayloadBytes;
        var frame = new byte[Wire.LengthBytes + bodyBytes];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)bodyBytes);
        frame[Wire.LengthBytes] = (byte)message.Type;
        var writer = new SpanWriter(frame.AsSpan(Wire.LengthBytes + 1));
        message.Write(ref writer);
        return frame;
    }
}
