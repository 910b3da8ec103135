// A UDP server bound to one address: datagrams in through OnReceived, replies with SendTo,
// and Multicast() to the configured group.
using System.Net;

namespace Gray.Net;

public class UdpServer(IPEndPoint endPoint, UdpOptions? options = null) : UdpPeer(options)
{
    public IPEndPoint EndPoint => LocalEndPoint ?? endPoint;

    public void Start() => Open(endPoint, connectTo: null);

    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Start();
    }

    /// <summary>Sends one datagram to <see cref="UdpOptions.MulticastGroup"/>.</summary>
    public bool Multicast(ReadOnlySpan<byte> datagram) =>
        SendTo(Options.MulticastGroup ?? throw new InvalidOperationException("UdpOptions.MulticastGroup is not set."),
            datagram);
}
