using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Gray.Net.Tests;

/// <summary>Splice through a small proxy built from Gray.Net: client → proxy session ⇄ backend client → echo.</summary>
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
        Assert.False(result.Faulted);
    }

    [Fact]
    public async Task An_idle_splice_is_closed_after_the_idle_timeout()
    {
        await using var backend = new EchoServer(Loopback.AnyPort);
        backend.Start();
        await using var proxy = new ProxyServer(backend.EndPoint, idleTimeout: TimeSpan.FromMilliseconds(300));
        proxy.Start();
        using var client = await Loopback.ConnectAsync(proxy.EndPoint);
        await TcpServerTests.AssertEchoAsync(client); // activity first
        var quietSince = DateTime.UtcNow;
        Assert.True(await Loopback.IsClosedByPeerAsync(client));
        Assert.InRange(DateTime.UtcNow - quietSince, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        Assert.True((await proxy.LastResult.Task.WaitAsync(Loopback.Deadline)).Faulted);
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
    }

    private sealed class ProxyServer(IPEndPoint backend, TimeSpan? idleTimeout) : TcpServer(Loopback.AnyPort)
    {
        public TaskCompletionSource<SpliceResult> LastResult { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override TcpSession CreateSession() => new ProxySession(this, backend, idleTimeout);
    }

    private sealed class ProxySession(ProxyServer server, IPEndPoint backend, TimeSpan? idleTimeout) : TcpSession(server)
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
