// GRAY_BENCH_ALLOC_TRACE=1: which types the run allocated, from the runtime's GCAllocationTick
// events (one event per ~100 KB allocated, naming the type that crossed the mark: a sample, so
// the MiB figures are estimates, good for finding the big spenders; a small object allocated
// right after a large one can be over-counted).
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Gray.Bench;

internal sealed class AllocationTrace : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();

    public static AllocationTrace? FromEnvironment() =>
        Environment.GetEnvironmentVariable("GRAY_BENCH_ALLOC_TRACE") == "1" ? new AllocationTrace() : null;

    public IEnumerable<string> Report() =>
        _bytesByType.OrderByDescending(entry => entry.Value).Take(8).Select(entry =>
            string.Create(CultureInfo.InvariantCulture,
                $"# allocated (sampled): {entry.Value / (1024.0 * 1024.0):F1} MiB of {entry.Key}"));

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true) return;
        if (eventData.Payload is not { } payload || eventData.PayloadNames is not { } names) return;
        int type = names.IndexOf("TypeName"), amount = names.IndexOf("AllocationAmount64"),
            size = names.IndexOf("ObjectSize");
        if (type < 0 || amount < 0) return;
        string key = size >= 0 ? $"{payload[type]} ({payload[size]} bytes each)" : $"{payload[type]}";
        long bytes = Convert.ToInt64(payload[amount], CultureInfo.InvariantCulture);
        _bytesByType.AddOrUpdate(key, static (_, added) => added, static (_, total, added) => total + added, bytes);
    }
}
