// Memory given back: the relay's and agent's RSS when idle, then 60 s after a 30 s burst of streams
// and request/response through the tunnel. The performance issue's goal: at most 1.5× the idle RSS.
using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class Burst
{
    /// <summary>Connections that stream to the echo service and read it all back during the burst.</summary>
    private const int Streams = 8;

    private const int ChunkBytes = 64 * 1024;

    private static readonly TimeSpan Length = TimeSpan.FromSeconds(30), Quiet = TimeSpan.FromSeconds(60);

    /// <summary>Pause before the idle reading (refills, deferred frees), as the idle workload.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        if (setup.RelayPids().Count == 0) return; // no tunnel, nothing to weigh
        var (length, quiet) = options.Quick ? (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)) : (Length, Quiet);
        if (setup is GraySetup gray) await gray.WaitForFullPoolAsync();
        await Task.Delay(options.Quick ? Settle : setup.SettleAfterStart + Settle);
        Record(setup, results, Metrics.BeforeBurst);

        using var cts = new CancellationTokenSource(length + TimeSpan.FromSeconds(60));
        var sockets = new List<Socket>();
        var streams = new StreamProgress[Streams];
        Task[] tasks = [];
        try
        {
            for (int i = 0; i < Streams + RequestResponse.Connections; i++)
                sockets.Add(await Loopback.ConnectAsync(port, cts.Token));
            long end = Stopwatch.GetTimestamp() + (long)(length.TotalSeconds * Stopwatch.Frequency);
            tasks = sockets.Select((s, i) => i < Streams
                ? StreamAsync(s, end, streams[i] = new StreamProgress(), cts.Token)
                : RequestResponse.PingPongAsync(s, long.MaxValue, end, null, cts.Token)).ToArray();
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException)
        {
            // Which connections hung, and where: a stream that sent all and got part back, or a round trip.
            var hung = streams.Where(s => s is { Done: false })
                .Select(s => $"stream {s.Sent:N0} sent, {s.Received:N0} back, " +
                    $"{(s.Shut ? "half-closed" : "sending")}, {(s.EndSeen ? "end of stream seen" : "reading")}");
            int roundTrips = tasks.Skip(Streams).Count(t => t.IsCanceled || !t.IsCompleted);
            throw new BenchException($"{setup.Name}: the burst did not finish in time; " +
                $"{string.Join("; ", hung)}; {roundTrips} request/response connections hung");
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }

        await Task.Delay(quiet);
        setup.EnsureRunning();
        Record(setup, results, Metrics.AfterBurst);
    }

    private static void Record(TunnelSetup setup, Results results, Func<string, Metric> metric)
    {
        const double bytesPerMiB = 1024 * 1024;
        results.Add(setup.Name, metric("relay"), ProcessStats.RssBytes(setup.RelayPids()) / bytesPerMiB);
        if (setup.AgentPids().Count > 0)
            results.Add(setup.Name, metric("agent"), ProcessStats.RssBytes(setup.AgentPids()) / bytesPerMiB);
    }

    private sealed class StreamProgress
    {
        public long Sent, Received;
        public bool Shut, EndSeen, Done;
    }

    // Writes until the end, then half-closes and reads the echo to its end: every byte must come back.
    private static async Task StreamAsync(
        Socket socket, long endTimestamp, StreamProgress progress, CancellationToken cancellationToken)
    {
        byte[] chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes), echo = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            async Task ReadAsync()
            {
                int n;
                while ((n = await socket.ReceiveAsync(echo, SocketFlags.None, cancellationToken)) > 0)
                    progress.Received += n;
                progress.EndSeen = true;
            }

            var reading = ReadAsync();
            while (Stopwatch.GetTimestamp() < endTimestamp)
            {
                progress.Sent += await socket.SendAsync(
                    chunk.AsMemory(0, ChunkBytes), SocketFlags.None, cancellationToken);
            }

            socket.Shutdown(SocketShutdown.Send);
            progress.Shut = true;
            await reading;
            if (progress.Received != progress.Sent)
                throw new BenchException($"burst: {progress.Sent:N0} bytes sent, {progress.Received:N0} echoed");
            progress.Done = true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
            ArrayPool<byte>.Shared.Return(echo);
        }
    }
}
