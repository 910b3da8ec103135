// Connection rate: 20 loops each connect, send one 32-byte request, read its echo and close, for
// the run's length. Setup time is from connect() to the echo's last byte, what a client waits for.
using System.Diagnostics;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class ConnectionRate
{
    public const int Loops = 20;

    /// <summary>Connections made one after another, on an idle machine, for the pairing figure.</summary>
    public const int SingleConnections = 200;

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + 60));
        var histograms = Enumerable.Range(0, Loops).Select(_ => new LatencyHistogram()).ToArray();
        var cpu = new CpuWatch(setup);
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(options.Seconds * Stopwatch.Frequency);
        try
        {
            await Task.WhenAll(histograms.Select(h => LoopAsync(port, end, h, cts.Token)));
        }
        catch (OperationCanceledException)
        {
            throw new BenchException($"{setup.Name}: connection rate did not finish in time");
        }

        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = LatencyHistogram.Combine(histograms);
        results.Add(setup.Name, Metrics.ConnectionRate, all.Count / elapsed);
        results.Add(setup.Name, Metrics.SetupP50, all.Percentile(0.50));
        results.Add(setup.Name, Metrics.SetupP99, all.Percentile(0.99));
        cpu.Report(results, all.Count, Metrics.ConnectionRelayCpu, Metrics.ConnectionAgentCpu);

        // One at a time: what pairing adds to a connection's setup when nothing queues.
        var single = new LatencyHistogram();
        await LoopAsync(port, long.MaxValue, single, cts.Token, SingleConnections);
        results.Add(setup.Name, Metrics.SingleSetupP50, single.Percentile(0.50));
    }

    private static async Task LoopAsync(
        int port, long endTimestamp, LatencyHistogram histogram, CancellationToken cancellationToken,
        int maxConnections = int.MaxValue)
    {
        await Task.Yield();
        byte[] request = new byte[Loopback.MessageBytes], response = new byte[Loopback.MessageBytes];
        Random.Shared.NextBytes(request);
        while (true)
        {
            long begin = Stopwatch.GetTimestamp();
            if (begin >= endTimestamp || histogram.Count >= maxConnections) return;
            using var socket = await Loopback.ConnectAsync(port, cancellationToken);
            if (!await Loopback.RoundTripAsync(socket, request, response, cancellationToken)
                || !request.AsSpan().SequenceEqual(response))
            {
                throw new BenchException("connection rate: no echo, or a wrong one");
            }

            histogram.Add(begin, Stopwatch.GetTimestamp());
        }
    }
}
