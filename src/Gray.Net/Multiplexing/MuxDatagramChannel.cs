// Datagrams over a multiplexed channel (a UDP flow): each is a u16 length and its bytes in the channel's
// byte stream, so boundaries survive however the frames are cut. A datagram that the channel's credit or
// the connection's queue cannot take at once is dropped and counted, never waited for: one slow flow must
// not stall the socket that receives for every flow, nor make anything queue without bound.
using System.Buffers.Binary;
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public sealed class MuxDatagramChannel
{
    /// <summary>Largest datagram carried, in bytes: what a u16 length holds (UDP over IPv4 carries 65,507).</summary>
    public const int MaxDatagramBytes = ushort.MaxValue;

    private const int LengthBytes = 2;

    private readonly MuxChannel _channel;
    private readonly byte[] _header = new byte[LengthBytes];
    private byte[]? _segment;
    private int _offset;
    private int _length;
    private long _dropped;

    public MuxDatagramChannel(MuxChannel channel)
    {
        _channel = channel;
        channel.GrowWindowOnce(); // room for the largest datagram beside smaller ones in flight
    }

    public MuxChannel Channel => _channel;

    /// <summary>Datagrams dropped because the channel or its connection had no room for them.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Sends one datagram whole, or drops it (false) if it cannot go at once. One sender at a time.</summary>
    public bool TrySend(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > MaxDatagramBytes) throw new ArgumentException("datagram too large", nameof(datagram));
        int total = LengthBytes + datagram.Length;
        if (!_channel.Connection.HasRoom || !_channel.TryReserveCredit(total))
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        // In pieces of at most a chunk each: the writer cuts them into frames.
        int sent = 0;
        while (sent < total)
        {
            int piece = Math.Min(total - sent, MuxOptions.ChunkBytes);
            byte[] buffer = BufferPool.Bytes.Rent(piece);
            int from = 0;
            if (sent == 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)datagram.Length);
                from = LengthBytes;
            }

            datagram.Slice(sent + from - LengthBytes, piece - from).CopyTo(buffer.AsSpan(from));
            if (!_channel.SendReserved(buffer, piece)) return false;
            sent += piece;
        }

        return true;
    }

    /// <summary>
    /// The next datagram, copied into <paramref name="buffer"/> (at least <see cref="MaxDatagramBytes"/> long);
    /// -1 once the peer ended the flow. Throws <see cref="MuxChannelResetException"/> once reset, and
    /// <see cref="ProtocolException"/> for a flow cut inside a datagram. One receiver at a time.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer)
    {
        if (!await FillAsync(_header, last: false).ConfigureAwait(false)) return -1;
        int length = BinaryPrimitives.ReadUInt16BigEndian(_header);
        if (length > buffer.Length) throw new ArgumentException("buffer smaller than the datagram", nameof(buffer));
        if (length == 0) _channel.Consumed(0, grantNow: true);
        else if (!await FillAsync(buffer[..length], last: true).ConfigureAwait(false))
        {
            throw new ProtocolException($"channel {_channel.Id} ended inside a datagram");
        }

        return length;
    }

    /// <summary>Ends the flow on both sides.</summary>
    public void Abort()
    {
        _channel.Abort();
        if (_segment is { } segment)
        {
            _segment = null;
            BufferPool.Bytes.Return(segment);
        }
    }

    // Copies the next target.Length bytes of the stream, reporting them consumed as they are copied (with
    // the last of a datagram, the credit goes back at once); false if it ended before the first of them.
    private async ValueTask<bool> FillAsync(Memory<byte> target, bool last)
    {
        int filled = 0;
        while (filled < target.Length)
        {
            if (_segment is null)
            {
                var next = await _channel.ReceiveAsync().ConfigureAwait(false);
                if (next.Buffer is null)
                {
                    if (filled == 0) return false;
                    throw new ProtocolException($"channel {_channel.Id} ended inside a datagram");
                }

                (_segment, _offset, _length) = (next.Buffer, 0, next.Length);
            }

            int count = Math.Min(target.Length - filled, _length - _offset);
            _segment.AsSpan(_offset, count).CopyTo(target.Span[filled..]);
            _offset += count;
            filled += count;
            _channel.Consumed(count, grantNow: last && filled == target.Length);
            if (_offset == _length)
            {
                BufferPool.Bytes.Return(_segment);
                _segment = null;
            }
        }

        return true;
    }
}
