using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Gray.Net.Tests;

public class TcpServerTests
{
    [Fact]
    public async Task Echo_returns_every_byte_in_order()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var socket = await Loopback.ConnectAsync(server.EndPoint);
        using var stream = new NetworkStream(socket);
        byte[] payload = RandomNumberGenerator.GetBytes(1 << 20);
        var reading = Loopback.ReadExactlyAsync(stream, payload.Length);
        await stream.WriteAsync(payload);
        Assert.Equal(payload, await reading);
        await Wait.UntilAsync(() => server.BytesSent == payload.Length, "server counts bytes sent");
        Assert.Equal(payload.Length, server.BytesReceived);
    }

    [Fact]
    public async Task Echo_serves_many_clients_at_once()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var socket = await Loopback.ConnectAsync(server.EndPoint);
            using var stream = new NetworkStream(socket);
            byte[] payload = RandomNumberGenerator.GetBytes(64 * 1024 + i);
            var reading = Loopback.ReadExactlyAsync(stream, payload.Length);
            await stream.WriteAsync(payload);
            Assert.Equal(payload, await reading);
        }));
    }

    [Fact]
    public async Task Echo_works_over_IPv6_and_dual_stack()
    {
        await using var server = new EchoServer(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        server.Start();
        foreach (var address in new[] { IPAddress.IPv6Loopback })
        {
            using var socket = await Loopback.ConnectAsync(new IPEndPoint(address, server.EndPoint.Port));
            using var stream = new NetworkStream(socket);
            await stream.WriteAsync("v6"u8.ToArray());
            Assert.Equal("v6"u8.ToArray(), await Loopback.ReadExactlyAsync(stream, 2));
        }

        await using var dual = new EchoServer(new IPEndPoint(IPAddress.IPv6Any, 0));
        dual.Start();
        using var v4 = await Loopback.ConnectAsync(new IPEndPoint(IPAddress.Loopback, dual.EndPoint.Port));
        using var v4Stream = new NetworkStream(v4);
        await v4Stream.WriteAsync("v4"u8.ToArray());
        Assert.Equal("v4"u8.ToArray(), await Loopback.ReadExactlyAsync(v4Stream, 2));
        var session = Assert.Single(dual.GetSessions());
        Assert.True(((IPEndPoint)session.RemoteEndPoint!).Address.MapToIPv4().Equals(IPAddress.Loopback));
    }

    [Fact]
    public async Task Half_close_from_the_client_still_delivers_the_echo()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var socket = await Loopback.ConnectAsync(server.EndPoint);
        using var stream = new NetworkStream(socket);
        byte[] payload = RandomNumberGenerator.GetBytes(300_000);
        await socket.SendAsync(payload);
        socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(payload, await Loopback.ReadExactlyAsync(stream, payload.Length));
        Assert.True(await Loopback.IsClosedByPeerAsync(socket));
    }

    [Fact]
    public async Task Multicast_reaches_every_session()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var sockets = new List<Socket>();
        for (int i = 0; i < 10; i++) sockets.Add(await Loopback.ConnectAsync(server.EndPoint));
        await Wait.UntilAsync(() => server.GetSessions().Count == 10, "10 sessions");

        byte[] message = Encoding.UTF8.GetBytes("hello, everyone");
        Assert.Equal(10, server.Multicast(message));
        foreach (var socket in sockets)
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            Assert.Equal(message, await Loopback.ReadExactlyAsync(stream, message.Length));
        }
    }

    [Fact]
    public async Task Sessions_are_listed_with_address_time_and_byte_counts()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        DateTimeOffset before = DateTimeOffset.UtcNow;
        using var socket = await Loopback.ConnectAsync(server.EndPoint);
        using var stream = new NetworkStream(socket);
        await stream.WriteAsync(new byte[1000]);
        await Loopback.ReadExactlyAsync(stream, 1000);

        await Wait.UntilAsync(() => server.GetSessions().SingleOrDefault()?.BytesSent == 1000, "byte counts");
        var info = Assert.Single(server.GetSessions());
        Assert.Equal(socket.LocalEndPoint, info.RemoteEndPoint);
        Assert.Equal(1000, info.BytesReceived);
        Assert.InRange(info.ConnectedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        Assert.NotNull(server.FindSession(info.Id));
        Assert.True(server.DisconnectSession(info.Id));
        Assert.True(await Loopback.IsClosedByPeerAsync(socket));
        await Wait.UntilAsync(() => server.SessionCount == 0, "session removed");
    }

    [Fact]
    public async Task Connections_past_the_session_limit_are_refused_at_once()
    {
        await using var server = new EchoServer(Loopback.AnyPort, new TcpServerOptions { MaxSessions = 2 });
        server.Start();
        using var first = await Loopback.ConnectAsync(server.EndPoint);
        using var second = await Loopback.ConnectAsync(server.EndPoint);
        await Wait.UntilAsync(() => server.SessionCount == 2, "two sessions");

        await Loopback.AssertRefusedAsync(() => Loopback.ConnectAsync(server.EndPoint));
        Assert.Equal(1, server.ConnectionsRefused);

        first.Close();
        await Wait.UntilAsync(() => server.SessionCount == 1, "a slot frees");
        using var fourth = await Loopback.ConnectAsync(server.EndPoint);
        using var stream = new NetworkStream(fourth);
        await stream.WriteAsync("ok"u8.ToArray());
        Assert.Equal("ok"u8.ToArray(), await Loopback.ReadExactlyAsync(stream, 2));
    }

    [Fact]
    public async Task Pause_refuses_new_connections_and_resume_accepts_again()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var existing = await Loopback.ConnectAsync(server.EndPoint);
        await Wait.UntilAsync(() => server.SessionCount == 1, "one session");

        server.PauseAccepting();
        Assert.True(server.IsAcceptingPaused);
        await Loopback.AssertRefusedAsync(() => Loopback.ConnectAsync(server.EndPoint));
        Assert.Equal(1, server.ConnectionsRefused);

        using (var stream = new NetworkStream(existing))
        {
            await stream.WriteAsync("still here"u8.ToArray());
            Assert.Equal("still here"u8.ToArray(), await Loopback.ReadExactlyAsync(stream, 10));
        }

        server.ResumeAccepting();
        using var accepted = await Loopback.ConnectAsync(server.EndPoint);
        using var acceptedStream = new NetworkStream(accepted);
        await acceptedStream.WriteAsync("back"u8.ToArray());
        Assert.Equal("back"u8.ToArray(), await Loopback.ReadExactlyAsync(acceptedStream, 4));
    }

    [Fact]
    public async Task Ban_refuses_an_address_and_drops_its_sessions_while_others_work()
    {
        var banned = IPAddress.Parse("127.0.0.2");
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var victim = await ConnectFromAsync(banned, server.EndPoint);
        using var other = await ConnectFromAsync(IPAddress.Loopback, server.EndPoint);
        await Wait.UntilAsync(() => server.SessionCount == 2, "two sessions");

        server.Ban(banned);
        Assert.True(server.IsBanned(banned));
        Assert.True(await Loopback.IsClosedByPeerAsync(victim));
        await Loopback.AssertRefusedAsync(() => ConnectFromAsync(banned, server.EndPoint));

        await AssertEchoAsync(other);

        Assert.True(server.Unban(banned));
        using var welcome = await ConnectFromAsync(banned, server.EndPoint);
        await AssertEchoAsync(welcome);
    }

    [Fact]
    public async Task Disconnect_by_address_ends_only_that_address()
    {
        var target = IPAddress.Parse("127.0.0.3");
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var a = await ConnectFromAsync(target, server.EndPoint);
        using var b = await ConnectFromAsync(target, server.EndPoint);
        using var c = await ConnectFromAsync(IPAddress.Loopback, server.EndPoint);
        await Wait.UntilAsync(() => server.SessionCount == 3, "three sessions");

        Assert.Equal(2, server.DisconnectAddress(target));
        Assert.True(await Loopback.IsClosedByPeerAsync(a));
        Assert.True(await Loopback.IsClosedByPeerAsync(b));
        await AssertEchoAsync(c);
        Assert.Equal(1, server.DisconnectAll());
        Assert.True(await Loopback.IsClosedByPeerAsync(c));
    }

    [Fact]
    public async Task Stop_closes_sessions_and_frees_the_port_for_an_immediate_restart()
    {
        var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        int port = server.EndPoint.Port;
        var clients = new List<Socket>();
        for (int i = 0; i < 5; i++)
        {
            var socket = await Loopback.ConnectAsync(server.EndPoint);
            await AssertEchoAsync(socket);
            clients.Add(socket);
        }

        await server.StopAsync();
        Assert.False(server.IsStarted);
        Assert.Equal(0, server.SessionCount);
        foreach (var client in clients)
        {
            Assert.True(await Loopback.IsClosedByPeerAsync(client));
            client.Dispose();
        }

        // The same port, at once, by a new server object and by the old one restarting.
        await using (var next = new EchoServer(new IPEndPoint(IPAddress.Loopback, port)))
        {
            next.Start();
            using var socket = await Loopback.ConnectAsync(next.EndPoint);
            await AssertEchoAsync(socket);
        }

        server.Start();
        Assert.Equal(port, server.EndPoint.Port);
        await server.RestartAsync();
        using (var socket = await Loopback.ConnectAsync(server.EndPoint))
        {
            await AssertEchoAsync(socket);
        }

        await server.DisposeAsync();
    }

    [Fact]
    public async Task Starting_twice_on_one_port_fails_clearly()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        Assert.Throws<InvalidOperationException>(server.Start);
        await using var rival = new EchoServer(server.EndPoint);
        var error = Assert.Throws<SocketException>(rival.Start);
        Assert.Equal(SocketError.AddressAlreadyInUse, error.SocketErrorCode);
    }

    internal static async Task<Socket> ConnectFromAsync(IPAddress source, IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        using var cts = new CancellationTokenSource(Loopback.Deadline);
        await socket.ConnectAsync(server, cts.Token);
        return socket;
    }

    internal static async Task AssertEchoAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        byte[] payload = RandomNumberGenerator.GetBytes(100);
        await stream.WriteAsync(payload);
        Assert.Equal(payload, await Loopback.ReadExactlyAsync(stream, payload.Length));
    }
}
