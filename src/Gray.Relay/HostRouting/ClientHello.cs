// The one thing the TLS entry point reads of a connection: the server name in its ClientHello (RFC 8446
// §4.1.2, the server_name extension of RFC 6066 §3). Records may split the hello, and TCP may split the
// records; the caller hands in everything read so far and reads on while the answer is NeedMore. Nothing
// here decrypts or answers: the bytes go on to the service unchanged (passthrough).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Gray.Relay.HostRouting;

public enum ClientHelloStatus
{
    /// <summary>The hello is not complete yet: read more (within the size and time bounds).</summary>
    NeedMore,

    /// <summary>A whole ClientHello: its server name, or null if it named none.</summary>
    Complete,

    /// <summary>Not a TLS ClientHello, or a malformed one.</summary>
    Invalid,
}

public static class ClientHello
{
    /// <summary>
    /// Most bytes read before the hello must be complete: a hello of 16 KiB in records of one byte would
    /// be larger, but no client sends that; browsers' hellos with post-quantum key shares are about 2 KiB.
    /// </summary>
    public const int MaxBytes = 16 * 1024 + 1024;

    private const byte HandshakeRecord = 22;
    private const byte ClientHelloType = 1;
    private const int RecordHeaderBytes = 5;
    private const int MaxRecordPayloadBytes = 16 * 1024;
    private const ushort ServerNameExtension = 0;
    private const byte HostNameType = 0;

    /// <summary>Looks for a complete ClientHello at the start of <paramref name="received"/>.</summary>
    public static ClientHelloStatus TryRead(ReadOnlySpan<byte> received, out string? serverName)
    {
        // The handshake message, when records split it; rented, as a client may split it into many records
        // and this runs again on every read.
        byte[]? joined = null;
        try
        {
            return TryJoin(received, ref joined, out serverName);
        }
        finally
        {
            if (joined is not null) ArrayPool<byte>.Shared.Return(joined);
        }
    }

    private static ClientHelloStatus TryJoin(ReadOnlySpan<byte> received, ref byte[]? joined, out string? serverName)
    {
        serverName = null;
        int joinedLength = 0;
        for (int at = 0; ;)
        {
            if (received.Length - at < RecordHeaderBytes) return ClientHelloStatus.NeedMore;
            var header = received.Slice(at, RecordHeaderBytes);
            int payload = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
            if (header[0] != HandshakeRecord || header[1] != 3 || payload is 0 or > MaxRecordPayloadBytes)
                return ClientHelloStatus.Invalid;
            if (received.Length - at - RecordHeaderBytes < payload)
            {
                // The first record's handshake header can be judged before the rest of it arrives.
                var partial = received[(at + RecordHeaderBytes)..];
                return joined is null && MessageLength(partial) == Malformed
                    ? ClientHelloStatus.Invalid : ClientHelloStatus.NeedMore;
            }
            var bytes = received.Slice(at + RecordHeaderBytes, payload);
            at += RecordHeaderBytes + payload;
            if (joined is null && MessageLength(bytes) is var whole && whole != NeedHeader)
            {
                if (whole < 0) return ClientHelloStatus.Invalid;
                if (bytes.Length >= whole) return Parse(bytes[HandshakeHeaderBytes..whole], out serverName);
            }

            joined ??= ArrayPool<byte>.Shared.Rent(MaxBytes);
            if (joinedLength + bytes.Length > MaxBytes) return ClientHelloStatus.Invalid;
            bytes.CopyTo(joined.AsSpan(joinedLength));
            joinedLength += bytes.Length;
            int length = MessageLength(joined.AsSpan(0, joinedLength));
            if (length == Malformed) return ClientHelloStatus.Invalid;
            if (length > 0 && joinedLength >= length)
                return Parse(joined.AsSpan(HandshakeHeaderBytes, length - HandshakeHeaderBytes), out serverName);
        }
    }

    private const int HandshakeHeaderBytes = 4;
    private const int NeedHeader = -1;
    private const int Malformed = -2;

    // The whole ClientHello message's length, header included; NeedHeader or Malformed.
    private static int MessageLength(ReadOnlySpan<byte> handshake)
    {
        if (handshake.Length < HandshakeHeaderBytes) return NeedHeader;
        if (handshake[0] != ClientHelloType) return Malformed;
        int length = HandshakeHeaderBytes + (handshake[1] << 16 | handshake[2] << 8 | handshake[3]);
        return length > MaxBytes ? Malformed : length;
    }

    // The ClientHello's body: version, random, session ID, cipher suites, compression, then extensions.
    private static ClientHelloStatus Parse(ReadOnlySpan<byte> body, out string? serverName)
    {
        serverName = null;
        var reader = new SpanReader(body);
        if (!reader.Skip(2 + 32) || !reader.SkipVector(1) || !reader.SkipVector(2) || !reader.SkipVector(1))
            return ClientHelloStatus.Invalid;
        if (reader.Remaining == 0) return ClientHelloStatus.Complete; // no extensions: no name
        if (!reader.Vector(2, out var extensions) || reader.Remaining != 0) return ClientHelloStatus.Invalid;
        var list = new SpanReader(extensions);
        while (list.Remaining > 0)
        {
            if (!list.U16(out ushort type) || !list.Vector(2, out var data)) return ClientHelloStatus.Invalid;
            if (type != ServerNameExtension) continue;
            var names = new SpanReader(data);
            if (!names.Vector(2, out var nameList) || names.Remaining != 0) return ClientHelloStatus.Invalid;
            var entries = new SpanReader(nameList);
            while (entries.Remaining > 0)
            {
                if (!entries.U8(out byte nameType) || !entries.Vector(2, out var name))
                    return ClientHelloStatus.Invalid;
                if (nameType != HostNameType || name.Length is 0 or > HostName.MaxChars) continue;
                serverName = HostName.NormalizeRequest(Encoding.ASCII.GetString(name));
                return serverName is null ? ClientHelloStatus.Invalid : ClientHelloStatus.Complete;
            }

            return ClientHelloStatus.Complete;
        }

        return ClientHelloStatus.Complete;
    }

    private ref struct SpanReader(ReadOnlySpan<byte> span)
    {
        private ReadOnlySpan<byte> _rest = span;

        public readonly int Remaining => _rest.Length;

        public bool Skip(int count)
        {
            if (_rest.Length < count) return false;
            _rest = _rest[count..];
            return true;
        }

        public bool U8(out byte value)
        {
            value = _rest.Length > 0 ? _rest[0] : (byte)0;
            return Skip(1);
        }

        public bool U16(out ushort value)
        {
            value = _rest.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(_rest) : (ushort)0;
            return Skip(2);
        }

        // A vector with a length prefix of lengthBytes (1 or 2).
        public bool Vector(int lengthBytes, out ReadOnlySpan<byte> vector)
        {
            vector = default;
            int length;
            if (lengthBytes == 1)
            {
                if (!U8(out byte n)) return false;
                length = n;
            }
            else
            {
                if (!U16(out ushort n)) return false;
                length = n;
            }

            if (_rest.Length < length) return false;
            vector = _rest[..length];
            _rest = _rest[length..];
            return true;
        }

        public bool SkipVector(int lengthBytes) => Vector(lengthBytes, out _);
    }
}
