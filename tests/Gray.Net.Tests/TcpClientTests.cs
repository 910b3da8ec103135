using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Gray.Net.Tests;

public class TcpClientTests
{
    [Fact]
    public async Task Client_echo_through_callbacks()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var received = new ReceivedBytes();
        var client = new CollectingTcpClient(server.EndPoint, received);
        await client.ConnectAsync();
        Assert.Equal(1, client.Connections);
        byte[] payload = RandomNumberGenerator.GetBytes(500_000);
        Assert.True(await client.SendAsync(payload));
        Assert.Equal(payload, await received.TakeAsync(payload.Length));
        // The send loop counts a batch once its write has completed, which may be after the echo is back.
        await Wait.UntilAsync(() => client.BytesReceived == payload.Length && client.BytesSent == payload.Length,
            "client counts");
        await client.DisconnectAsync();
        Assert.False(client.IsConnected);
        Assert.Equal(SendResult.Closed, client.Send("late"u8));
    }

    [Fact]
    public async Task Connecting_to_a_closed_port_fails_with_the_socket_error()
    {
        var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var endPoint = (IPEndPoint)free.LocalEndpoint;
        free.Stop();
        var client = new TcpClient(endPoint);
        var error = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync());
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Shutdown_send_half_closes_and_the_reply_still_arrives()
    {
        await using var server = new CountingServer(Loopback.AnyPort);
        server.Start();
        var received = new ReceivedBytes();
        var client = new CollectingTcpClient(server.EndPoint, received);
        await client.ConnectAsync();
        byte[] payload = RandomNumberGenerator.GetBytes(123_456);
        await client.SendAsync(payload);
        await client.ShutdownSendAsync();
        Assert.Equal(SendResult.Closed, client.Send("after FIN"u8));

        // The server only answers once it has seen our FIN, so the reply proves the half-close.
        byte[] reply = await received.TakeAsync(8);
        Assert.Equal(payload.Length, BinaryPrimitives.ReadInt64BigEndian(reply));
        await client.Completion.WaitAsync(Loopback.Deadline);
    }

    [Fact]
    public async Task Reconnect_comes_back_when_the_server_returns()
    {
        var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var received = new ReceivedBytes();
        var client = new CollectingTcpClient(server.EndPoint, received);
        using var stop = new CancellationTokenSource();
        var backoff =
            new BackoffOptions { Initial = TimeSpan.FromMilliseconds(20), Maximum = TimeSpan.FromMilliseconds(200) };
        var running = client.RunWithReconnectAsync(backoff, cancellationToken: stop.Token);
        await Wait.UntilAsync(() => client.IsConnected, "first connection");

        await server.StopAsync();
        await Wait.UntilAsync(() => !client.IsConnected, "client notices");
        server.Start(); // same port
        await Wait.UntilAsync(() => client.IsConnected && client.Connections == 2, "reconnected");
        client.Send("again"u8);
        Assert.Equal("again"u8.ToArray(), await received.TakeAsync(5));

        stop.Cancel();
        await running.WaitAsync(Loopback.Deadline);
        Assert.False(client.IsConnected);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Reconnect_stops_on_a_fatal_error()
    {
        var free = new TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var endPoint = (IPEndPoint)free.LocalEndpoint;
        free.Stop();
        var client = new TcpClient(endPoint);
        var backoff = new BackoffOptions { Initial = TimeSpan.FromMilliseconds(1) };
        int attempts = 0;
        await Assert.ThrowsAsync<SocketException>(() => client.RunWithReconnectAsync(backoff,
            isFatal: _ => ++attempts == 3));
        Assert.Equal(3, attempts);
    }

    [Fact]
    public void Backoff_grows_with_jitter_up_to_the_maximum_and_resets()
    {
        var options =
            new BackoffOptions { Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromSeconds(30), Jitter = 0.2 };
        var backoff = new ExponentialBackoff(options);
        var delays = Enumerable.Range(0, 10).Select(_ => backoff.Next().TotalSeconds).ToArray();
        Assert.InRange(delays[0], 0.8, 1.2);
        Assert.InRange(delays[1], 1.6, 2.4);
        Assert.InRange(delays[2], 3.2, 4.8);
        Assert.All(delays, d => Assert.InRange(d, 0.8, 30));
        Assert.InRange(delays[9], 24, 30);
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalSeconds, 0.8, 1.2);
    }

    /// <summary>Reads until the client's FIN (pull style), then answers with the byte count.</summary>
    private sealed class CountingServer(IPEndPoint endPoint) : TcpServer(endPoint)
    {
        protected override TcpSession CreateSession() => new CountingSession(this);
    }

    private sealed class CountingSession(TcpServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[8192];
            long total = 0;
            int read;
            while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0) total += read;
            var reply = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(reply, total);
            await SendAsync(reply, cancellationToken);
            await FlushAsync(cancellationToken);
        }
    }
}
