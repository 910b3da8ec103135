// Random traffic through the tunnel: random chunk sizes, random half-close timing and direction.
// Whatever the schedule, the bytes out equal the bytes in.
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Net;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

public class PropertyTests(ITestOutputHelper output)
{
    private const int Pairs = 120;

    [Fact]
    public async Task Random_schedules_deliver_every_byte_in_order()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("GRAY_TEST_SEED"), out int given)
            ? given
            : Environment.TickCount;
        output.WriteLine($"seed {seed}");
        await using var service = new ScriptedService();
        service.Start();
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("property");
        await relay.StartAgentAsync(server, service.EndPoint, pool: 32);
        var random = new Random(seed);
        var plans = Enumerable.Range(0, Pairs).Select(i => Plan.Random(new Random(random.Next()), i)).ToArray();

        await Task.WhenAll(plans.Select(plan => RunAsync(server.ClientPort, plan, service)));
    }

    /// <summary>What one pair does: who sends how much, in what chunks, and when the client half-closes.</summary>
    private sealed record Plan(int Index, byte[] Upload, int DownloadBytes, int[] Chunks, bool ServiceClosesFirst,
        int HalfCloseDelayMs, int[] Pauses)
    {
        public static Plan Random(Random random, int index)
        {
            int upload = random.Next(4) == 0 ? 0 : random.Next(1, 512 * 1024);
            int download = random.Next(4) == 0 ? 0 : random.Next(1, 512 * 1024);
            var chunks = new List<int>();
            for (int left = upload; left > 0;)
            {
                int size = Math.Min(left, random.Next(3) switch { 0 => random.Next(1, 16), 1 => random.Next(16, 4096),
                    _ => random.Next(4096, 128 * 1024) });
                chunks.Add(size);
                left -= size;
            }

            var bytes = new byte[upload];
            random.NextBytes(bytes);
            return new Plan(index, bytes, download, [.. chunks], ServiceClosesFirst: random.Next(2) == 0,
                HalfCloseDelayMs: random.Next(3) == 0 ? random.Next(1, 20) : 0,
                [.. chunks.Select(_ => random.Next(4) == 0 ? random.Next(1, 5) : 0)]);
        }
    }

    // Protocol with the scripted service: a 9-byte header (download size, pair index, mode), then the
    // upload, then FIN. The service streams the download (a pattern seeded by its size) while reading.
    // Mode 0, the client closes first: after the client's FIN the service answers with SHA-256 of the
    // upload, then FIN. Mode 1, the service closes first: it sends FIN after the download and keeps
    // reading; it records SHA-256 of the upload for the test to check.
    private static async Task RunAsync(int port, Plan plan, ScriptedService service)
    {
        using var client = await Tcp.ConnectAsync(port);
        var header = new byte[9];
        BinaryPrimitives.WriteInt32BigEndian(header, plan.DownloadBytes);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), plan.Index);
        header[8] = plan.ServiceClosesFirst ? (byte)1 : (byte)0;
        await client.SendAsync(header);
        var reading = Tcp.ReadToEndAsync(client);

        int offset = 0;
        for (int i = 0; i < plan.Chunks.Length; i++)
        {
            await client.SendAsync(plan.Upload.AsMemory(offset, plan.Chunks[i]));
            offset += plan.Chunks[i];
            if (plan.Pauses[i] > 0) await Task.Delay(plan.Pauses[i]); // random timing is the point here
        }

        if (plan.HalfCloseDelayMs > 0) await Task.Delay(plan.HalfCloseDelayMs);
        client.Shutdown(SocketShutdown.Send);
        byte[] received = await reading;
        int expected = plan.DownloadBytes + (plan.ServiceClosesFirst ? 0 : 32);
        Assert.True(
            received.Length == expected, $"pair {plan.Index}: {received.Length} bytes back, expected {expected}");
        Assert.True(received.AsSpan(0, plan.DownloadBytes).SequenceEqual(ScriptedService.Pattern(plan.DownloadBytes)),
            $"pair {plan.Index}: download corrupted");
        byte[] uploadHash = plan.ServiceClosesFirst
            ? await service.UploadHash(plan.Index).WaitAsync(Tcp.Deadline)
            : received[plan.DownloadBytes..];
        Assert.True(
            uploadHash.AsSpan().SequenceEqual(SHA256.HashData(plan.Upload)),
            $"pair {plan.Index}: upload corrupted (service closes first: {plan.ServiceClosesFirst}, " +
            $"{plan.Upload.Length} bytes up, {plan.DownloadBytes} down)");
    }

    private sealed class ScriptedService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
    {
        private readonly ConcurrentDictionary<int, TaskCompletionSource<byte[]>> _uploads = new();

        public Task<byte[]> UploadHash(int index) => Slot(index).Task;

        private TaskCompletionSource<byte[]> Slot(int index) =>
            _uploads.GetOrAdd(
                index, _ => new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously));

        public static byte[] Pattern(int length)
        {
            var bytes = new byte[length];
            new Random(length).NextBytes(bytes);
            return bytes;
        }

        protected override TcpSession CreateSession() => new ScriptedSession(this);


        private sealed class ScriptedSession(ScriptedService server) : TcpSession(server)
        {
            protected override async Task RunAsync(CancellationToken cancellationToken)
            {
                var header = new byte[9];
                int got = 0;
                while (got < header.Length)
                {
                    int n = await ReceiveAsync(header.AsMemory(got), cancellationToken);
                    if (n == 0) return;
                    got += n;
                }

                byte[] download = Pattern(BinaryPrimitives.ReadInt32BigEndian(header));
                int index = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
                bool closeFirst = header[8] == 1;
                var sending = Task.Run(async () =>
                {
                    for (int offset = 0; offset < download.Length; offset += 7919) // an odd chunk size
                    {
                        await SendAsync(
                            download.AsMemory(offset, Math.Min(7919, download.Length - offset)), cancellationToken);
                    }

                    if (closeFirst) await ShutdownSendAsync(cancellationToken);
                }, cancellationToken);

                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[16 * 1024];
                int read;
                while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0) hash.AppendData(buffer, 0, read);
                await sending;
                if (closeFirst)
                {
                    server.Slot(index).TrySetResult(hash.GetHashAndReset());
                    return;
                }

                await SendAsync(hash.GetHashAndReset(), cancellationToken);
                await ShutdownSendAsync(cancellationToken);
            }
        }
    }
}
