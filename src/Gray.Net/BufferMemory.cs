// What the library's buffer pool holds, for the host's memory housekeeping (decision 0040).
using Gray.Net.Internal;

namespace Gray.Net;

public static class BufferMemory
{
    /// <summary>
    /// Drops the pooled buffers that no connection took since the previous call, so that a burst's buffers
    /// go back to the runtime once traffic stays low; returns the bytes dropped. Call it periodically.
    /// </summary>
    public static long ReleaseUnused() => BufferPool.Trim();
}
