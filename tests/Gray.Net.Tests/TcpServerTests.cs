using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

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
        await Loopback.WaitUntilAsync(() => server.BytesSent == payload.Length, "server counts bytes sent");
        Assert.Equal(payload.Length, server.BytesReceived);
    }
}
