using System.Net;
using System.Net.Sockets;

namespace Gray.Net.Tests;

/// <summary>A slow or stalled reader must not make the sender's memory grow without bound.</summary>
public class BackpressureTests
{
    private const int QueueLimitBytes = 256 * 1024;

    [Fact]
    public async Task SendAsync_to_a_slow_reader_never_queues_past_the_limit()
    {
        const int totalBytes = 8 * 1024 * 1024;
        var options = new TcpServerOptions { SendQueueLimitBytes = QueueLimitBytes };
        await using var server = new PushServer(Loopback.AnyPort, options, totalBytes);
        server.Start();

        using var socket = new Socket(
            AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await socket.ConnectAsync(server.EndPoint);
        var buffer = new byte[32 * 1024];
        long received = 0;
        int reads = 0;
        while (true)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0) break;
            received += read;
            Assert.True(++reads < 100_000, "read loop bound");
            await Task.Delay(1); // a slow reader
        }

        Assert.Equal(totalBytes, received);
        var session = await server.Finished.Task.WaitAsync(Loopback.Deadline);
        Assert.InRange(session.MaxPendingBytes, 1, QueueLimitBytes);
        // The producer really was held back: its queue filled up to the limit at least once.
        Assert.True(session.MaxPendingBytes > QueueLimitBytes / 2, $"max pending {session.MaxPendingBytes}");
    }

    [Fact]
    public async Task Send_past_the_limit_disconnects_a_peer_that_does_not_read()
    {
        var options = new TcpServerOptions { SendQueueLimitBytes = QueueLimitBytes };
        await using var server = new EchoServer(Loopback.AnyPort, options);
        server.Start();
        using var socket = new Socket(
            AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(server.EndPoint);
        await Wait.UntilAsync(() => server.GetSessions().Count == 1, "session");
        var session = server.FindSession(server.GetSessions().Single().Id)!;
        session.Socket.SendBufferSize = 4096;

        var chunk = new byte[16 * 1024];
        SendResult result = SendResult.Queued;
        for (int i = 0; i < 10_000 && result == SendResult.Queued; i++)
        {
            result = session.Send(chunk);
            Assert.InRange(session.PendingSendBytes, 0, QueueLimitBytes);
            if (result == SendResult.Queued && i % 16 == 0) await Task.Yield(); // let the send loop run
        }

        Assert.Equal(SendResult.Closed, result);
        await Wait.UntilAsync(() => server.SessionCount == 0, "session closed");
        Assert.False(session.IsConnected);
    }

    [Theory]
    [InlineData(SendOverflowPolicy.Disconnect)]
    [InlineData(SendOverflowPolicy.Drop)]
    public async Task Multicast_to_a_stalled_session_does_not_slow_the_others(SendOverflowPolicy policy)
    {
        const int messageBytes = 1024, messages = 4000;
        var options = new TcpServerOptions { SendQueueLimitBytes = QueueLimitBytes, SendOverflow = policy };
        await using var server = new EchoServer(Loopback.AnyPort, options);
        server.Start();

        using var stalled = new Socket(
            AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(server.EndPoint);
        var readers = new List<Socket>();
        for (int i = 0; i < 2; i++) readers.Add(await Loopback.ConnectAsync(server.EndPoint));
        await Wait.UntilAsync(() => server.GetSessions().Count == 3, "three sessions");
        var stalledSession = server.FindSession(
            server.GetSessions().Single(s => s.RemoteEndPoint!.Equals(stalled.LocalEndPoint)).Id)!;
        stalledSession.Socket.SendBufferSize = 4096;
        var healthy = server.GetSessions().Where(s => s.Id != stalledSession.Id).Select(s => server.FindSession(s.Id)!)
            .ToList();

        var draining = readers.Select(r => DrainAsync(r, (long)messageBytes * messages)).ToList();
        var message = new byte[messageBytes];
        for (int i = 0; i < messages; i++)
        {
            message.AsSpan().Fill((byte)i);
            server.Multicast(message);
            // Pace by the healthy readers only; the stalled one must not hold anybody back.
            if (healthy.Any(h => h.PendingSendBytes > QueueLimitBytes / 2))
            {
                await Wait.UntilAsync(
                    () => healthy.All(h => h.PendingSendBytes < QueueLimitBytes / 4), "healthy drain");
            }

            Assert.InRange(stalledSession.PendingSendBytes, 0, QueueLimitBytes);
        }

        foreach (var total in await Task.WhenAll(draining)) Assert.Equal((long)messageBytes * messages, total);
        if (policy == SendOverflowPolicy.Disconnect)
        {
            await Wait.UntilAsync(() => !stalledSession.IsConnected, "stalled session dropped");
        }
        else
        {
            Assert.True(stalledSession.IsConnected);
            Assert.True(stalledSession.SendsDropped > 0);
        }

        foreach (var reader in readers) reader.Dispose();
    }

    private static async Task<long> DrainAsync(Socket socket, long expected)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        using var cts = new CancellationTokenSource(Loopback.Deadline);
        while (total < expected)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0) break;
            total += read;
        }

        return total;
    }

    private sealed class PushServer(IPEndPoint endPoint, TcpServerOptions options, int totalBytes)
        : TcpServer(endPoint, options)
    {
        public TaskCompletionSource<PushSession> Finished { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override TcpSession CreateSession() => new PushSession(this, totalBytes);
    }

    private sealed class PushSession(PushServer server, int totalBytes) : TcpSession(server)
    {
        public int MaxPendingBytes { get; private set; }

        // Pull style: a pump that waits for queue space instead of buffering without bound.
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            Socket.SendBufferSize = 16 * 1024;
            var chunk = new byte[32 * 1024];
            for (int sent = 0; sent < totalBytes; sent += chunk.Length)
            {
                Assert.True(await SendAsync(chunk, cancellationToken));
                MaxPendingBytes = Math.Max(MaxPendingBytes, PendingSendBytes);
            }

            await ShutdownSendAsync(cancellationToken);
            server.Finished.SetResult(this);
        }
    }
}
