// Request/response: 50 connections each ping-pong a 32-byte message for the run's length;
// requests per second and latency percentiles.
using System.Diagnostics;
using System.Net.Sockets;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class RequestResponse
{
    public const int Connections = 50;

    /// <summary>Round trips per connection before the clock starts (JIT, pool refills, caches).</summary>
    private const int WarmUpRoundTrips = 20;

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(options.Seconds + 60));
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < Connections; i++) sockets.Add(await Loopback.ConnectAsync(port, cts.Token));
            await Task.WhenAll(sockets.Select(s => PingPongAsync(s, WarmUpRoundTrips, long.MaxValue, null, cts.Token)));

            var histograms = sockets.Select(_ => new LatencyHistogram()).ToArray();
            var cpu = new CpuWatch(setup);
            long start = Stopwatch.GetTimestamp();
            long end = start + (long)(options.Seconds * Stopwatch.Frequency);
            await Task.WhenAll(
                sockets.Select((s, i) => PingPongAsync(s, long.MaxValue, end, histograms[i], cts.Token)));
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;

            var all = LatencyHistogram.Combine(histograms);
            results.Add(setup.Name, Metrics.RequestRate, all.Count / elapsed);
            results.Add(setup.Name, Metrics.RequestP50, all.Percentile(0.50));
            results.Add(setup.Name, Metrics.RequestP99, all.Percentile(0.99));
            cpu.Report(results, all.Count, Metrics.RequestRelayCpu, Metrics.RequestAgentCpu);
        }
        catch (OperationCanceledException)
        {
            throw new BenchException($"{setup.Name}: request/response did not finish in time");
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    internal static async Task PingPongAsync(Socket socket, long count, long endTimestamp, LatencyHistogram? histogram,
        CancellationToken cancellationToken)
    {
        byte[] request = new byte[Loopback.MessageBytes], response = new byte[Loopback.MessageBytes];
        Random.Shared.NextBytes(request);
        for (long i = 0; i < count; i++)
        {
            long sent = Stopwatch.GetTimestamp();
            if (sent >= endTimestamp) return;
            if (!await Loopback.RoundTripAsync(socket, request, response, cancellationToken))
            {
                throw new BenchException("request/response: the tunnel closed a connection");
            }

            if (!request.AsSpan().SequenceEqual(response))
                throw new BenchException("request/response: the echo differs from the request");
            histogram?.Add(sent, Stopwatch.GetTimestamp());
        }
    }
}
