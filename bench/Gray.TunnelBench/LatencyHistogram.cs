// Latencies in fixed buckets (1 µs to 1 ms, then 10 µs to 10 ms, then 1 ms to 10 s): bounded memory
// whatever the run's length, and percentiles precise to the bucket.
using System.Diagnostics;

namespace Gray.TunnelBench;

internal sealed class LatencyHistogram
{
    private const int FineBuckets = 1_000, MediumBuckets = 900, CoarseBuckets = 9_990;

    private readonly long[] _counts = new long[FineBuckets + MediumBuckets + CoarseBuckets + 1];

    public long Count { get; private set; }

    public void Add(long startTimestamp, long endTimestamp) =>
        Add((endTimestamp - startTimestamp) * 1_000_000.0 / Stopwatch.Frequency);

    public void Add(double microseconds)
    {
        int index = microseconds switch
        {
            < 1_000 => (int)microseconds,
            < 10_000 => FineBuckets + (int)((microseconds - 1_000) / 10),
            < 10_000_000 => FineBuckets + MediumBuckets + (int)((microseconds - 10_000) / 1_000),
            _ => _counts.Length - 1,
        };
        _counts[Math.Max(index, 0)]++;
        Count++;
    }

    /// <summary>All the samples of <paramref name="histograms"/> in one histogram.</summary>
    public static LatencyHistogram Combine(IEnumerable<LatencyHistogram> histograms)
    {
        var all = new LatencyHistogram();
        foreach (var histogram in histograms)
        {
            for (int i = 0; i < all._counts.Length; i++) all._counts[i] += histogram._counts[i];
            all.Count += histogram.Count;
        }

        return all;
    }

    /// <summary>The latency in microseconds below which <paramref name="fraction"/> of the samples fall (bucket's upper
    /// edge).</summary>
    public double Percentile(double fraction)
    {
        if (Count == 0) return double.NaN;
        long rank = (long)Math.Ceiling(fraction * Count);
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return UpperEdge(i);
        }

        return UpperEdge(_counts.Length - 1);
    }

    private static double UpperEdge(int index) => index switch
    {
        < FineBuckets => index + 1,
        < FineBuckets + MediumBuckets => 1_000 + (index - FineBuckets + 1) * 10,
        _ => 10_000 + (index - FineBuckets - MediumBuckets + 1) * 1_000.0,
    };
}
