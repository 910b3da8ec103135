// Settings for UDP servers and clients, including multicast.
using System.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Net;

public sealed class UdpOptions
{
    /// <summary>Largest datagram received whole, in bytes (65,507 is the IPv4 maximum).</summary>
    public int ReceiveBufferBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The kernel's receive buffer for the socket (SO_RCVBUF), in bytes; null keeps the system default.
    /// </summary>
    public int? SocketReceiveBufferBytes { get; set; }

    /// <summary>The kernel's send buffer for the socket (SO_SNDBUF), in bytes; null keeps the system default.</summary>
    public int? SocketSendBufferBytes { get; set; }

    /// <summary>Let several sockets bind one port (multicast receivers on one host need it).</summary>
    public bool ReuseAddress { get; set; }

    /// <summary>A client's local address; null binds any address and an ephemeral port.</summary>
    public IPEndPoint? LocalEndPoint { get; set; }

    /// <summary>Accept IPv4 too when bound to an IPv6 address.</summary>
    public bool DualMode { get; set; } = true;

    /// <summary>Where <see cref="UdpServer.Multicast"/> sends.</summary>
    public IPEndPoint? MulticastGroup { get; set; }

    /// <summary>Outgoing interface for multicast, by address (e.g. 127.0.0.1 to stay on this host).</summary>
    public IPAddress? MulticastInterface { get; set; }

    /// <summary>0 keeps multicast on this host; 1 stays on the local link.</summary>
    public int MulticastTimeToLive { get; set; } = 1;

    /// <summary>Deliver our own multicast to receivers on this host.</summary>
    public bool MulticastLoopback { get; set; } = true;

    public ILoggerFactory? LoggerFactory { get; set; }
}
