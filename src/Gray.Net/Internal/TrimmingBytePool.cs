// The library's byte buffers by size class (powers of two up to a largest size), each class keeping a
// bounded stack. Trim drops the buffers a class did not need since the last trim: a burst's buffers
// serve the next burst soon after, and go back to the runtime once traffic stays low (decision 0040).
using System.Buffers;
using System.Numerics;

namespace Gray.Net.Internal;

internal sealed class TrimmingBytePool : ArrayPool<byte>
{
    private const int SmallestBytes = 16;

    private readonly SizeClass[] _classes;

    public TrimmingBytePool(int largestBytes, int buffersPerClass)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(largestBytes, SmallestBytes);
        _classes = new SizeClass[ClassOf(largestBytes) + 1];
        for (int i = 0; i < _classes.Length; i++) _classes[i] = new SizeClass(SmallestBytes << i, buffersPerClass);
    }

    public override byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength == 0) return [];
        int index = ClassOf(minimumLength);
        if (index >= _classes.Length) return GC.AllocateUninitializedArray<byte>(minimumLength);
        return _classes[index].TryPop() ?? GC.AllocateUninitializedArray<byte>(_classes[index].Bytes);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0) return;
        int index = ClassOf(array.Length);
        if (index >= _classes.Length) return; // larger than pooled: the runtime takes it back
        if (_classes[index].Bytes != array.Length)
            throw new ArgumentException("The buffer was not rented from this pool.", nameof(array));
        if (clearArray) Array.Clear(array);
        _classes[index].TryPush(array);
    }

    /// <summary>Drops every buffer that stayed in the pool since the last trim; the bytes dropped.</summary>
    public long Trim()
    {
        long dropped = 0;
        foreach (var sizeClass in _classes) dropped += sizeClass.Trim();
        return dropped;
    }

    /// <summary>Bytes held in the pool now.</summary>
    public long PooledBytes => _classes.Sum(c => (long)c.Count * c.Bytes);

    private static int ClassOf(int length) =>
        BitOperations.Log2((uint)(Math.Max(length, SmallestBytes) - 1) | (SmallestBytes - 1)) - 3;

    private sealed class SizeClass(int bytes, int capacity)
    {
        private readonly Lock _gate = new();
        private readonly byte[]?[] _buffers = new byte[capacity][];
        private int _count;
        private int _lowWater; // the fewest buffers held since the last trim: the bottom ones went unused

        public int Bytes => bytes;

        public int Count
        {
            get { lock (_gate) return _count; }
        }

        public byte[]? TryPop()
        {
            lock (_gate)
            {
                if (_count == 0) return null;
                byte[]? buffer = _buffers[--_count];
                _buffers[_count] = null;
                if (_count < _lowWater) _lowWater = _count;
                return buffer;
            }
        }

        public void TryPush(byte[] buffer)
        {
            lock (_gate)
            {
                if (_count < _buffers.Length) _buffers[_count++] = buffer;
            }
        }

        public long Trim()
        {
            lock (_gate)
            {
                int unused = _lowWater;
                if (unused > 0)
                {
                    Array.Copy(_buffers, unused, _buffers, 0, _count - unused);
                    Array.Clear(_buffers, _count - unused, unused);
                    _count -= unused;
                }

                _lowWater = _count;
                return (long)unused * bytes;
            }
        }
    }
}
