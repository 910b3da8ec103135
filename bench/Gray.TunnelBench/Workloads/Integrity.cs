// Integrity: one connection streams pseudo-random bytes to the echo service, half-closes, and reads the
// echo to its end; both directions are hashed with SHA-256 and must match. frp and bore fail this shape
// (the half-close is lost, or the tail of the stream); every setup here must pass it, or the run fails.
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class Integrity
{
    /// <summary>Bytes streamed each way: 256 MiB (16 MiB in a quick run).</summary>
    public static int StreamBytes(BenchOptions options) => (options.Quick ? 16 : 256) * 1024 * 1024;

    private const int ChunkBytes = 64 * 1024;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        int total = StreamBytes(options);
        using var cts = new CancellationTokenSource(Deadline);
        using var socket = await Loopback.ConnectAsync(port, cts.Token);
        long start = Stopwatch.GetTimestamp();
        try
        {
            var sending = SendAsync(socket, total, cts.Token);
            var (received, receivedHash) = await ReceiveAsync(socket, cts.Token);
            byte[] sentHash = await sending;
            if (received != total || !sentHash.AsSpan().SequenceEqual(receivedHash))
            {
                throw new BenchException($"{setup.Name}: SHA-256 echo: {total:N0} bytes sent, {received:N0} " +
                    $"echoed, {(received == total ? "same length, different bytes" : "not all of them")}");
            }
        }
        catch (OperationCanceledException)
        {
            throw new BenchException($"{setup.Name}: the SHA-256 echo did not finish in {Deadline.TotalSeconds} s");
        }

        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        results.Add(setup.Name, Metrics.Integrity(total), total / (1024.0 * 1024) / seconds);
    }

    // Each chunk is fresh pseudo-random bytes, so a chunk repeated, lost or reordered changes the hash.
    private static async Task<byte[]> SendAsync(Socket socket, int total, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(total);
        byte[] chunk = new byte[ChunkBytes];
        for (int sent = 0; sent < total; sent += ChunkBytes)
        {
            random.NextBytes(chunk);
            hash.AppendData(chunk);
            await socket.SendAsync(chunk, SocketFlags.None, cancellationToken);
        }

        socket.Shutdown(SocketShutdown.Send); // the half-close the echo must see, and answer with its own
        return hash.GetHashAndReset();
    }

    private static async Task<(long Bytes, byte[] Hash)> ReceiveAsync(Socket socket,
        CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[ChunkBytes];
        long received = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            hash.AppendData(buffer.AsSpan(0, n));
            received += n;
        }

        return (received, hash.GetHashAndReset());
    }
}
