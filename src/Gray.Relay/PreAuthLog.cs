// Failures of connections that have not authenticated. Anyone can cause them, as fast as they like:
// each is logged at Debug, and per reason one Warning a minute at most says how many there were, so
// that nobody outside can flood the log; the metric counts every one.
using System.Collections.Concurrent;
using System.Net;
using Gray.Hosting;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed partial class PreAuthLog(ILogger log, RelayMetrics metrics, TimeProvider time)
{
    /// <summary>Least time between two warnings for the same reason.</summary>
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    // Reasons come from a fixed set in the code, so this stays small.
    private readonly ConcurrentDictionary<string, Summary> _byReason = new();

    /// <summary>Failures for <paramref name="reason"/> since the start.</summary>
    public long Total(string reason) =>
        _byReason.TryGetValue(reason, out var summary) ? Interlocked.Read(ref summary.Total) : 0;

    public void Failed(string reason, EndPoint? remote, string detail)
    {
        metrics.PreAuthFailed(reason);
        string safeDetail = LogText.Escape(detail);
        Detail(log, reason, remote, safeDetail);
        var summary = _byReason.GetOrAdd(reason, _ => new Summary());
        Interlocked.Increment(ref summary.Total);
        var now = time.GetUtcNow();
        long count;
        lock (summary)
        {
            summary.Count++;
            if (summary.LastWarning is { } last && now - last < SummaryInterval) return;
            count = summary.Count;
            summary.Count = 0;
            summary.LastWarning = now;
        }

        Warning(log, reason, count, remote, safeDetail);
    }

    [LoggerMessage(120, LogLevel.Debug, "Unauthenticated connection from {Remote}: {Reason} ({Detail})")]
    private static partial void Detail(ILogger logger, string reason, EndPoint? remote, string detail);

    [LoggerMessage(121, LogLevel.Warning,
        "Unauthenticated connections: {Reason}, {Count} time(s) in the last minute; the latest from {Remote} " +
        "({Detail}). Each is logged at Debug.")]
    private static partial void Warning(ILogger logger, string reason, long count, EndPoint? remote, string detail);

    private sealed class Summary
    {
        public long Total;
        public long Count;
        public DateTimeOffset? LastWarning;
    }
}
