// A channel's received bytes, in pooled segments that a burst of frames fills one after another.
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

/// <summary>
/// A channel's received bytes in pooled segments; bytes arriving while the last segment has room are
/// appended to it, so a burst of frames becomes one local write. Bounded by the channel's window.
/// </summary>
internal sealed class SegmentQueue
{
    private Segment[] _items = new Segment[4];
    private int _head;

    public int Count { get; private set; }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (Count > 0)
        {
            ref var tail = ref _items[(_head + Count - 1) % _items.Length];
            int room = tail.Buffer.Length - tail.Length;
            if (room >= bytes.Length)
            {
                bytes.CopyTo(tail.Buffer.AsSpan(tail.Length));
                tail = tail with { Length = tail.Length + bytes.Length };
                return;
            }
        }

        if (Count == _items.Length)
        {
            var grown = new Segment[_items.Length * 2];
            for (int i = 0; i < Count; i++) grown[i] = _items[(_head + i) % _items.Length];
            _items = grown;
            _head = 0;
        }

        var buffer = BufferPool.Bytes.Rent(Math.Max(bytes.Length, MuxOptions.ChunkBytes));
        bytes.CopyTo(buffer);
        _items[(_head + Count) % _items.Length] = new Segment(buffer, bytes.Length);
        Count++;
    }

    public bool TryDequeue(out Segment segment)
    {
        if (Count == 0)
        {
            segment = default;
            return false;
        }

        segment = _items[_head];
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        Count--;
        return true;
    }

    public void Clear()
    {
        while (TryDequeue(out var segment)) BufferPool.Bytes.Return(segment.Buffer);
    }

    public readonly record struct Segment(byte[] Buffer, int Length);
}
