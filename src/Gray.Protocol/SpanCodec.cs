// The one encoder and decoder of Gray's messages: big-endian integers and length-prefixed UTF-8
// strings, written into and read from spans. A read past the end, or a string over its limit, is a
// ProtocolException.
using System.Buffers.Binary;
using System.Text;
using Gray.Net;

namespace Gray.Protocol;

internal ref struct SpanWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;

    public int Written { get; private set; }

    public void U8(byte value) => Take(1)[0] = value;

    public void U16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void U32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void U64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Take(8), value);

    public void Bytes(scoped ReadOnlySpan<byte> value) => value.CopyTo(Take(value.Length));

    /// <summary>A u16 length, then the UTF-8 bytes.</summary>
    public void Str(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        U16((ushort)length);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    /// <summary>How many bytes <see cref="Str"/> writes for <paramref name="value"/>.</summary>
    public static int StrBytes(string value) => 2 + Encoding.UTF8.GetByteCount(value);

    private Span<byte> Take(int count)
    {
        var taken = _destination.Slice(Written, count);
        Written += count;
        return taken;
    }
}

internal ref struct SpanReader(ReadOnlySpan<byte> data)
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private ReadOnlySpan<byte> _rest = data;

    public byte U8() => Take(1)[0];

    public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong U64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    public byte[] Bytes(int count) => Take(count).ToArray();

    public ReadOnlySpan<byte> Span(int count) => Take(count);

    public string Str(int maxBytes)
    {
        int length = U16();
        if (length > maxBytes)
        {
            throw new ProtocolException($"string of {length} bytes is over the {maxBytes}-byte limit");
        }
        try
        {
            return StrictUtf8.GetString(Take(length));
        }
        catch (DecoderFallbackException)
        {
            throw new ProtocolException("string is not valid UTF-8");
        }
    }

    /// <summary>Bytes not read yet: an optional last field is present when some remain.</summary>
    public readonly int Remaining => _rest.Length;

    /// <summary>Nothing may follow the last field.</summary>
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
