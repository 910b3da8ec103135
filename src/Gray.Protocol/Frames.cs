// Reading and writing length-prefixed control frames, and the messages they carry.
using System.Buffers.Binary;
using System.Text;

namespace Gray.Protocol;

public readonly record struct Frame(FrameType Type, byte[] Payload);

public sealed record Hello(ushort Version, ushort Pool, bool PlainData, string Id, bool KeyAuth = false, bool Mux = false);

public sealed record Welcome(int ClientPort, int DataPort, bool PlainData, TimeSpan PingInterval, TimeSpan PingTimeout, bool Mux = false);

public sealed record ErrorMessage(ErrorCode Code, string Message);

public static class Frames
{
    /// <summary>Reads one frame; null at a clean end of stream. Throws ProtocolException on bad framing.</summary>
    public static async Task<Frame?> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var header = new byte[Wire.LengthBytes];
        int got = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        if (got == 0) return null;
        if (got < header.Length) throw new ProtocolException("truncated frame header");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0) throw new ProtocolException("empty frame");
        if (length > Wire.MaxFrameBytes) throw new ProtocolException($"frame of {length} bytes is over the {Wire.MaxFrameBytes}-byte limit");
        var body = new byte[length];
        if (await stream.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken) < body.Length)
        {
            throw new ProtocolException("truncated frame");
        }

        if (!Enum.IsDefined((FrameType)body[0])) throw new ProtocolException($"unknown frame type 0x{body[0]:x2}");
        return new Frame((FrameType)body[0], body[1..]);
    }

    public static byte[] Encode(FrameType type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[Wire.LengthBytes + 1 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(1 + payload.Length));
        frame[Wire.LengthBytes] = (byte)type;
        payload.CopyTo(frame.AsSpan(Wire.LengthBytes + 1));
        return frame;
    }

    public static byte[] Hello(Hello hello)
    {
        var w = new Writer();
        byte flags = (byte)((hello.PlainData ? Wire.FlagPlainData : 0) | (hello.KeyAuth ? Wire.FlagKeyAuth : 0) | (hello.Mux ? Wire.FlagMux : 0));
        w.U16(hello.Version).U16(hello.Pool).U8(flags).Str(hello.Id);
        return Encode(FrameType.Hello, w.ToArray());
    }

    public static Hello ParseHello(Frame frame)
    {
        var r = new Reader(Expect(frame, FrameType.Hello));
        ushort version = r.U16(), pool = r.U16();
        byte flags = r.U8();
        var hello = new Hello(version, pool, (flags & Wire.FlagPlainData) != 0, r.Str(Wire.MaxIdBytes), (flags & Wire.FlagKeyAuth) != 0,
            (flags & Wire.FlagMux) != 0);
        r.End();
        return hello;
    }

    public static byte[] Welcome(Welcome welcome)
    {
        var w = new Writer();
        byte flags = (byte)((welcome.PlainData ? Wire.WelcomePlainData : 0) | (welcome.Mux ? Wire.WelcomeMux : 0));
        w.U16((ushort)welcome.ClientPort).U16((ushort)welcome.DataPort).U8(flags)
            .U32((uint)welcome.PingInterval.TotalMilliseconds).U32((uint)welcome.PingTimeout.TotalMilliseconds);
        return Encode(FrameType.Welcome, w.ToArray());
    }

    public static Welcome ParseWelcome(Frame frame)
    {
        var r = new Reader(Expect(frame, FrameType.Welcome));
        int clientPort = r.U16(), dataPort = r.U16();
        byte flags = r.U8();
        var welcome = new Welcome(clientPort, dataPort, (flags & Wire.WelcomePlainData) != 0,
            TimeSpan.FromMilliseconds(r.U32()), TimeSpan.FromMilliseconds(r.U32()), (flags & Wire.WelcomeMux) != 0);
        r.End();
        return welcome;
    }

    public static byte[] Error(ErrorCode code, string message)
    {
        var w = new Writer();
        w.U16((ushort)code).Str(message.Length > 1000 ? message[..1000] : message);
        return Encode(FrameType.Error, w.ToArray());
    }

    public static ErrorMessage ParseError(Frame frame)
    {
        var r = new Reader(Expect(frame, FrameType.Error));
        var error = new ErrorMessage((ErrorCode)r.U16(), r.Str(Wire.MaxFrameBytes));
        r.End();
        return error;
    }

    public static byte[] Otps(IReadOnlyList<byte[]> otps)
    {
        if (otps.Count is 0 or > Wire.MaxOtpsPerFrame) throw new ArgumentOutOfRangeException(nameof(otps));
        var payload = new byte[1 + otps.Count * Wire.OtpBytes];
        payload[0] = (byte)otps.Count;
        for (int i = 0; i < otps.Count; i++) otps[i].CopyTo(payload, 1 + i * Wire.OtpBytes);
        return Encode(FrameType.Otps, payload);
    }

    public static List<byte[]> ParseOtps(Frame frame)
    {
        var payload = Expect(frame, FrameType.Otps);
        if (payload.Length < 1 || payload[0] == 0 || payload.Length != 1 + payload[0] * Wire.OtpBytes)
        {
            throw new ProtocolException("malformed OTP frame");
        }

        return Enumerable.Range(0, payload[0]).Select(i => payload.AsSpan(1 + i * Wire.OtpBytes, Wire.OtpBytes).ToArray()).ToList();
    }

    public static byte[] Ping(FrameType type, ulong nonce)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(payload, nonce);
        return Encode(type, payload);
    }

    public static ulong ParsePing(Frame frame)
    {
        if (frame.Payload.Length != 8) throw new ProtocolException("malformed ping");
        return BinaryPrimitives.ReadUInt64BigEndian(frame.Payload);
    }

    public static byte[] Fixed(FrameType type, byte[] bytes, int expected)
    {
        if (bytes.Length != expected) throw new ArgumentException("wrong length", nameof(bytes));
        return Encode(type, bytes);
    }

    public static byte[] ParseFixed(Frame frame, FrameType type, int expected)
    {
        var payload = Expect(frame, type);
        if (payload.Length != expected) throw new ProtocolException($"{type} must carry {expected} bytes");
        return payload;
    }

    private static byte[] Expect(Frame frame, FrameType type) =>
        frame.Type == type ? frame.Payload : throw new ProtocolException($"expected {type}, got {frame.Type}");

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public Writer U8(byte value)
        {
            _stream.WriteByte(value);
            return this;
        }

        public Writer U16(ushort value)
        {
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(b, value);
            _stream.Write(b);
            return this;
        }

        public Writer U32(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b, value);
            _stream.Write(b);
            return this;
        }

        public Writer Str(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            U16((ushort)bytes.Length);
            _stream.Write(bytes);
            return this;
        }

        public byte[] ToArray() => _stream.ToArray();
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public byte U8() => Take(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public string Str(int maxBytes)
        {
            int length = U16();
            if (length > maxBytes) throw new ProtocolException($"string of {length} bytes is over the {maxBytes}-byte limit");
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Take(length));
            }
            catch (DecoderFallbackException)
            {
                throw new ProtocolException("string is not valid UTF-8");
            }
        }

        public readonly void End()
        {
            if (!_rest.IsEmpty) throw new ProtocolException($"{_rest.Length} unexpected trailing bytes");
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (_rest.Length < count) throw new ProtocolException("frame too short");
            var taken = _rest[..count];
            _rest = _rest[count..];
            return taken;
        }
    }
}
