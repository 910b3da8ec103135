// UDP: 8 flows (client sockets) each ping-pong one datagram at a time for the run's length, with 64-byte
// and then 1,400-byte datagrams; datagrams per second and round-trip percentiles. A datagram not echoed
// within the loss timeout counts as lost and the flow goes on.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class Datagrams
{
    public const int Flows = 8;

    public static readonly int[] Sizes = [64, 1400];

    private static readonly TimeSpan LossTimeout = TimeSpan.FromMilliseconds(200);

    private const int WarmUpRoundTrips = 20;

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        var sockets = Enumerable.Range(0, Flows).Select(_ =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return socket;
        }).ToList();
        try
        {
            foreach (int size in Sizes)
            {
                await Task.WhenAll(sockets.Select(s => PingPongAsync(s, size, WarmUpRoundTrips, long.MaxValue, null)));
                var histograms = sockets.Select(_ => new LatencyHistogram()).ToArray();
                long start = Stopwatch.GetTimestamp();
                long end = start + (long)(options.Seconds * Stopwatch.Frequency);
                var lost = await Task.WhenAll(
                    sockets.Select((s, i) => PingPongAsync(s, size, long.MaxValue, end, histograms[i])));
                double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var all = LatencyHistogram.Combine(histograms);
                results.Add(setup.Name, Metrics.DatagramRate(size), all.Count / elapsed);
                results.Add(setup.Name, Metrics.DatagramP50(size), all.Percentile(0.50));
                results.Add(setup.Name, Metrics.DatagramP99(size), all.Percentile(0.99));
                results.Add(setup.Name, Metrics.DatagramLoss(size), 100.0 * lost.Sum() / Math.Max(1, all.Count));
            }
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    // Round trips until the count or the end; returns how many datagrams were lost.
    private static async Task<long> PingPongAsync(Socket socket, int size, long count, long endTimestamp,
        LatencyHistogram? histogram)
    {
        byte[] request = new byte[size], response = new byte[65536];
        Random.Shared.NextBytes(request);
        long lost = 0;
        for (long i = 0; i < count; i++)
        {
            long sent = Stopwatch.GetTimestamp();
            if (sent >= endTimestamp) break;
            await socket.SendAsync(request, SocketFlags.None);
            using var timeout = new CancellationTokenSource(LossTimeout);
            int received;
            try
            {
                received = await socket.ReceiveAsync(response, SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                lost++;
                continue;
            }

            if (received != size || !request.AsSpan().SequenceEqual(response.AsSpan(0, size)))
                throw new BenchException("datagrams: the echo differs from the request");
            histogram?.Add(sent, Stopwatch.GetTimestamp());
        }

        return lost;
    }
}
