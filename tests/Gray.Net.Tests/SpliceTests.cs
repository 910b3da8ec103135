using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Net.Tests;

/// <summary>Splice through a small proxy built from Gray.Net: client → proxy session ⇄ backend client →
/// echo.</summary>
public class SpliceTests
{
    [Fact]
    public async Task Splice_carries_bytes_both_ways_and_forwards_half_close()
    {
        await using var backend = new PullEchoServer(Loopback.AnyPort);
        backend.Start();
        await using var proxy = new ProxyServer(backend.EndPoint, idleTimeout: null);
        proxy.Start();
        using var client = await Loopback.ConnectAsync(proxy.EndPoint);
        byte[] payload = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(payload);
            client.Shutdown(SocketShutdown.Send); // FIN through the proxy: the echo server answers it
        });
        using var stream = new NetworkStream(client);
        byte[] echoed = await Loopback.ReadExactlyAsync(stream, payload.Length);
        await sending;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
        Assert.True(await Loopback.IsClosedByPeerAsync(client)); // the backend's FIN came back too
        var result = await proxy.LastResult.Task.WaitAsync(Loopback.Deadline);
        Assert.Equal(payload.Length, result.BytesAToB);
        Assert.Equal(payload.Length, result.BytesBToA);
        Assert.Equal(SpliceEnd.Completed, result.End);
    }

    [Fact]
    public async Task An_idle_splice_is_closed_after_the_idle_timeout()
    {
        await using var backend = new EchoServer(Loopback.AnyPort);
        backend.Start();
        var idle = TimeSpan.FromSeconds(60);
        var time = new FakeTimeProvider();
        await using var proxy = new ProxyServer(backend.EndPoint, idle, time);
        proxy.Start();
        using var client = await Loopback.ConnectAsync(proxy.EndPoint);
        await TcpServerTests.AssertEchoAsync(client); // activity first

        // The clock moves in quarters of the timeout (the watchdog's period) until the splice ends.
        var step = idle / 4;
        var quiet = TimeSpan.Zero;
        while (!proxy.LastResult.Task.IsCompleted && quiet < 4 * idle)
        {
            time.Advance(step);
            quiet += step;
            await Task.WhenAny(proxy.LastResult.Task, Task.Delay(50));
        }

        Assert.InRange(quiet, idle, idle + 2 * step); // not before the timeout, and soon after it
        Assert.Equal(SpliceEnd.IdleTimeout, (await proxy.LastResult.Task.WaitAsync(Loopback.Deadline)).End);
        Assert.True(await Loopback.IsClosedByPeerAsync(client));
    }

    [Fact]
    public async Task A_backend_reset_closes_the_client_side()
    {
        await using var backend = new ResettingServer();
        backend.Start();
        await using var proxy = new ProxyServer(backend.EndPoint, idleTimeout: null);
        proxy.Start();
        using var client = await Loopback.ConnectAsync(proxy.EndPoint);
        await client.SendAsync(new byte[10]);
        Assert.True(await Loopback.IsClosedByPeerAsync(client));
        // the backend's side
        Assert.Equal(SpliceEnd.BFailed, (await proxy.LastResult.Task.WaitAsync(Loopback.Deadline)).End);
    }

    private sealed class ProxyServer(IPEndPoint backend, TimeSpan? idleTimeout, TimeProvider? time = null)
        : TcpServer(Loopback.AnyPort, new TcpServerOptions { TimeProvider = time ?? TimeProvider.System })
    {
        public TaskCompletionSource<SpliceResult> LastResult { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override TcpSession CreateSession() => new ProxySession(this, backend, idleTimeout);
    }

    private sealed class ProxySession(ProxyServer server, IPEndPoint backend, TimeSpan? idleTimeout)
        : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var upstream = new BackendConnection(backend);
            await upstream.ConnectAsync(cancellationToken);
            try
            {
                var result = await Splice.RunAsync(this, upstream, null, idleTimeout, cancellationToken);
                server.LastResult.TrySetResult(result);
            }
            finally
            {
                upstream.Release();
            }
        }
    }

    private sealed class ResettingServer() : TcpServer(Loopback.AnyPort)
    {
        protected override TcpSession CreateSession() => new ResettingSession(this);

        private sealed class ResettingSession(TcpServer server) : TcpSession(server)
        {
            protected override void OnReceived(ReadOnlySpan<byte> data)
            {
                Socket.LingerState = new LingerOption(true, 0);
                Disconnect();
            }
        }
    }
}
