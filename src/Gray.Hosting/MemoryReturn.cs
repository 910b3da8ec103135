// Gives memory back after a burst (decision 0040). Every 15 s the buffer pool drops what no connection
// took since the last look. When the process has gone quiet after a burst (the start counts as one), one
// aggressive full collection returns the freed managed heap to the system, and glibc returns what
// OpenSSL freed.
using System.Runtime.InteropServices;
using Gray.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Hosting;

public sealed partial class MemoryReturn(ILogger<MemoryReturn> logger, TimeProvider? time = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    /// <summary>Allocated in one interval below which the process counts as quiet, in bytes.</summary>
    public const long QuietAllocationBytes = 4L * 1024 * 1024;

    /// <summary>Dropped from the pool, or grown on the heap, that makes a collection worth its pause, in
    /// bytes.</summary>
    public const long WorthReturningBytes = 4L * 1024 * 1024;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Whether to collect now: quiet in the last interval, and something worth returning.</summary>
    public static bool ShouldCollect(long droppedBytes, long allocatedBytes, long committedBytes,
        long committedAfterLastCollection) =>
        allocatedBytes < QuietAllocationBytes
        && (droppedBytes >= WorthReturningBytes
            || committedBytes - committedAfterLastCollection >= WorthReturningBytes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        long allocated = GC.GetTotalAllocatedBytes(), committedAfterCollection = 0; // the start: a burst
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                long dropped = BufferMemory.ReleaseUnused();
                long allocatedNow = GC.GetTotalAllocatedBytes();
                long committed = Committed();
                bool collect = ShouldCollect(dropped, allocatedNow - allocated, committed, committedAfterCollection);
                allocated = allocatedNow;
                if (!collect) continue;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                TrimNativeHeap();
                committedAfterCollection = Committed();
                allocated = GC.GetTotalAllocatedBytes();
                Returned(logger, dropped / 1024, (committed - committedAfterCollection) / 1024);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static long Committed() => GC.GetGCMemoryInfo().TotalCommittedBytes;

    // glibc keeps freed memory in its arenas; malloc_trim hands the free pages back. Elsewhere: nothing.
    private static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception error) when (error is EntryPointNotFoundException or DllNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LoggerMessage(EventId = 900, Level = LogLevel.Debug,
        Message = "Memory returned after a burst: {PoolKiB} KiB of pooled buffers, {HeapKiB} KiB of heap")]
    private static partial void Returned(ILogger logger, long poolKiB, long heapKiB);
}
