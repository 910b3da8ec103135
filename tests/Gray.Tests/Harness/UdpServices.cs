// UDP services for the tunnel's tests: an echo that remembers the source addresses it served, and one that
// answers each datagram with the PROXY v2 header it came with.
using System.Collections.Concurrent;
using System.Net;
using Gray.Net;

namespace Gray.Tests.Harness;

/// <summary>Sends every datagram back to where it came from.</summary>
public sealed class UdpEchoService() : UdpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    private readonly ConcurrentDictionary<EndPoint, byte> _sources = new();

    /// <summary>The source addresses and ports seen: one per flow, as the agent gives each its own socket.</summary>
    public int Sources => _sources.Count;

    protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        _sources.TryAdd(remote, 0);
        SendTo(remote, datagram);
    }
}

/// <summary>A UDP client on loopback, bound to <paramref name="from"/> (127.0.0.x).</summary>
public static class Udp
{
    public static System.Net.Sockets.Socket Bind(IPAddress? from = null)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork,
            System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new IPEndPoint(from ?? IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>Sends <paramref name="datagram"/> to the port and waits for one datagram back (null: none
    /// came).</summary>
    public static async Task<byte[]?> ExchangeAsync(System.Net.Sockets.Socket socket, int port, byte[] datagram,
        TimeSpan? within = null)
    {
        await socket.SendToAsync(datagram, new IPEndPoint(IPAddress.Loopback, port));
        var buffer = new byte[65536];
        using var deadline = new CancellationTokenSource(within ?? Tcp.Deadline);
        try
        {
            int received = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, deadline.Token);
            return buffer[..received];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
