// A UDP client: connected to one server for Send(), or bound to a group port as a multicast receiver.
using System.Net;
using System.Net.Sockets;

namespace Gray.Net;

public class UdpClient(IPEndPoint? server, UdpOptions? options = null) : UdpPeer(options)
{
    public IPEndPoint? Server => server;

    public void Start()
    {
        IPEndPoint bind = Options.LocalEndPoint ?? new IPEndPoint(
            (server?.AddressFamily ?? AddressFamily.InterNetwork) == AddressFamily.InterNetworkV6
                ? IPAddress.IPv6Any : IPAddress.Any, 0);
        Open(bind, server);
    }

    /// <summary>Sends one datagram to the server without waiting; false if the kernel would not take it.</summary>
    public bool Send(ReadOnlySpan<byte> datagram) =>
        server is not null
            ? SendConnected(datagram) : throw new InvalidOperationException("This client has no server.");

    public ValueTask SendAsync(ReadOnlyMemory<byte> datagram, CancellationToken cancellationToken = default) =>
        SendToAsync(server ?? throw new InvalidOperationException("This client has no server."), datagram,
            cancellationToken);
}
