// The library's byte buffers: receive, send and splice buffers all come from here.
using System.Buffers;

namespace Gray.Net.Internal;

internal static class BufferPool
{
    /// <summary>Buffers kept per size class.</summary>
    private const int BuffersPerSize = 512;

    /// <summary>Largest buffer kept; larger ones (send queues past 16 MiB) are not pooled.</summary>
    private const int LargestPooledBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Buffers are rented when bytes start to flow and returned when a connection goes quiet, for every
    /// burst of every busy connection (so that idle ones hold none). The shared pool keeps only a few per
    /// core and then allocates; this one keeps enough for hundreds of busy connections.
    /// </summary>
    public static readonly ArrayPool<byte> Bytes = ArrayPool<byte>.Create(LargestPooledBytes, BuffersPerSize);
}
