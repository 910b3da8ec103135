// Every accepted and every dialled connection has TCP keepalive on, with intervals that find a dead
// peer within minutes; it can be turned off.
using System.Net.Sockets;

namespace Gray.Net.Tests;

public class KeepAliveTests
{
    [Fact]
    public async Task Accepted_and_dialled_connections_probe_a_silent_peer()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var client = new TcpClient(server.EndPoint);
        await client.ConnectAsync();
        await Wait.UntilAsync(() => server.GetSessions().Count == 1, "the session");
        var accepted = server.FindSession(server.GetSessions().Single().Id)!;

        foreach (var socket in new[] { client.Socket, accepted.Socket })
        {
            Assert.NotEqual(0, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
            int idle = (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!;
            int interval =
                (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!;
            int probes =
                (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!;
            Assert.InRange(idle + interval * probes, 1, 180); // a dead peer is found within three minutes
        }

        await client.DisconnectAsync();
    }

    [Fact]
    public async Task Keepalive_can_be_turned_off()
    {
        await using var server = new EchoServer(Loopback.AnyPort, new TcpServerOptions { KeepAlive = null });
        server.Start();
        var client = new TcpClient(server.EndPoint);
        await client.ConnectAsync();
        await Wait.UntilAsync(() => server.GetSessions().Count == 1, "the session");
        var accepted = server.FindSession(server.GetSessions().Single().Id)!.Socket;
        Assert.Equal(0, (int)accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        await client.DisconnectAsync();
    }
}
