// The library's byte buffers: receive, send and splice buffers all come from here.
using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Gray.Net.Internal;

internal static class BufferPool
{
    /// <summary>Buffers kept per size class.</summary>
    private const int BuffersPerSize = 512;

    /// <summary>Largest buffer kept; larger ones (send queues past 16 MiB) are not pooled.</summary>
    private const int LargestPooledBytes = 16 * 1024 * 1024;

    private static readonly TrimmingBytePool Pool = new(LargestPooledBytes, BuffersPerSize);

    /// <summary>
    /// Buffers are rented when bytes start to flow and returned when a connection goes quiet, for every
    /// burst of every busy connection (so that idle ones hold none). The shared pool keeps only a few per
    /// core and then allocates; this one keeps enough for hundreds of busy connections, and gives back
    /// what a burst left once it is over (<see cref="Trim"/>).
    /// </summary>
    public static readonly ArrayPool<byte> Bytes =
#if DEBUG
        new CheckedPool(Pool);
#else
        Pool;
#endif

    /// <summary>Drops the buffers no connection needed since the last trim; the bytes dropped.</summary>
    public static long Trim() => Pool.Trim();

#if DEBUG
    // Debug builds (the tests) fail fast on a buffer returned twice or never rented: either hands one
    // array to two owners, which corrupts data silently.
    private sealed class CheckedPool(ArrayPool<byte> inner) : ArrayPool<byte>
    {
        private readonly ConditionalWeakTable<byte[], object> _rented = new();

        public override byte[] Rent(int minimumLength)
        {
            byte[] buffer = inner.Rent(minimumLength);
            if (!_rented.TryAdd(buffer, buffer))
            {
                Environment.FailFast($"BufferPool: a buffer of {buffer.Length} bytes was rented while still rented");
            }

            return buffer;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            if (!_rented.Remove(array))
            {
                Environment.FailFast(
                    $"BufferPool: a buffer of {array.Length} bytes was returned twice or never rented\n" +
                    Environment.StackTrace);
            }

            inner.Return(array, clearArray);
        }
    }
#endif
}
