// Settings every TCP or TLS connection shares, server side and client side.
using Microsoft.Extensions.Logging;

namespace Gray.Net;

/// <summary>What <see cref="TcpConnection.Send"/> does when the send queue would pass its limit.</summary>
public enum SendOverflowPolicy
{
    /// <summary>Disconnect the connection: its peer reads too slowly to keep up.</summary>
    Disconnect,

    /// <summary>Drop this message, count it in <see cref="TcpConnection.SendsDropped"/>, keep the connection.</summary>
    Drop,
}

public class ConnectionOptions
{
    /// <summary>Receive buffer rented from the pool while data flows, in bytes.</summary>
    public int ReceiveBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Most bytes one connection may have queued for sending. Bounds its memory.</summary>
    public int SendQueueLimitBytes { get; set; } = 4 * 1024 * 1024;

    public SendOverflowPolicy SendOverflow { get; set; } = SendOverflowPolicy.Disconnect;

    /// <summary>Disable Nagle's algorithm (TCP_NODELAY).</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// TCP keepalive on every connection, so that a peer that vanished without a FIN (power cut, NAT state
    /// dropped) is noticed within minutes; null turns it off.
    /// </summary>
    public TcpKeepAlive? KeepAlive { get; set; } = TcpKeepAlive.Default;

    /// <summary>
    /// Wait for data with a zero-byte read before renting a receive buffer, so that an idle
    /// connection holds no buffer (as Kestrel does).
    /// </summary>
    public bool WaitForDataBeforeAllocatingBuffer { get; set; } = true;

    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock of deadlines, idle timeouts and retry delays (a fake one in tests).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

public sealed class TcpServerOptions : ConnectionOptions
{
    /// <summary>Sessions (including ones still handshaking) past which a new connection is refused at once.</summary>
    public int MaxSessions { get; set; } = 10_000;

    public int ListenBacklog { get; set; } = 512;

    /// <summary>Accept IPv4 too when bound to an IPv6 address.</summary>
    public bool DualMode { get; set; } = true;

    /// <summary>Deadline for a session's stream setup (the TLS handshake).</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest pause between accept retries after a failure such as EMFILE.</summary>
    public TimeSpan MaxAcceptRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Sessions allowed from one source address (network, by <see cref="AddressPrefix"/>) at once.</summary>
    public int MaxSessionsPerAddress { get; set; } = int.MaxValue;

    /// <summary>How <see cref="MaxSessionsPerAddress"/> groups addresses: each on its own by default.</summary>
    public AddressPrefix AddressPrefix { get; set; } = AddressPrefix.Exact;

    /// <summary>A connection budget shared with other servers (a process-wide limit), or null.</summary>
    public ConnectionQuota? Quota { get; set; }

    /// <summary>
    /// Keep one spare descriptor so that, out of descriptors (EMFILE), a pending connection can
    /// still be accepted and refused at once instead of hanging in the backlog.
    /// </summary>
    public bool ShedWhenOutOfDescriptors { get; set; } = true;
}

public sealed class TcpClientOptions : ConnectionOptions
{
    /// <summary>Deadline for connecting, including the proxy's answer and the TLS handshake.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Connect through this HTTP proxy (CONNECT) instead of directly; null: directly.</summary>
    public HttpConnectProxy? Proxy { get; set; }

    /// <summary>
    /// Connects by another transport (<see cref="WebSocketDialer.DialAsync"/>) instead of a socket of its own;
    /// <see cref="ConnectTimeout"/> covers it. Null: a TCP connection to the server (or through <see cref="Proxy"/>).
    /// </summary>
    public Func<CancellationToken, ValueTask<Transport>>? Dial { get; set; }
}

/// <summary>
/// TCP keepalive: the first probe after <paramref name="Idle"/> of silence, then every
/// <paramref name="Interval"/>; after <paramref name="Probes"/> unanswered ones the connection fails.
/// </summary>
public sealed record TcpKeepAlive(TimeSpan Idle, TimeSpan Interval, int Probes)
{
    /// <summary>A dead peer is found within 60 s + 6 × 10 s = 2 minutes of silence.</summary>
    public static readonly TcpKeepAlive Default = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), 6);
}
