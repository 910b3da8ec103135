// When the host returns memory after a burst: only once the process is quiet, and only when a pooled
// or heap surplus makes the collection's pause worth it.
using Gray.Hosting;

namespace Gray.Tests.Hosting;

public class MemoryReturnTests
{
    private const long MiB = 1024 * 1024;

    [Theory]
    [InlineData(8 * MiB, 0, 100 * MiB, 100 * MiB, true)] // the pool dropped a burst's buffers
    [InlineData(0, MiB, 120 * MiB, 100 * MiB, true)] // the heap grew since the last collection
    [InlineData(8 * MiB, 64 * MiB, 120 * MiB, 100 * MiB, false)] // still busy: the runtime's own collections
    [InlineData(MiB, 0, 101 * MiB, 100 * MiB, false)] // too little to return for a full collection's pause
    public void It_collects_when_quiet_with_something_worth_returning(
        long dropped, long allocated, long committed, long committedAfterLast, bool collect) =>
        Assert.Equal(collect, MemoryReturn.ShouldCollect(dropped, allocated, committed, committedAfterLast));
}
