// The bytes under a connection: a socket of its own, or a stream that arrived another way (a WebSocket
// that a web server accepted or a client dialed). TcpConnection, its sessions and the splice run the
// same over either; only half-close and abort differ (rathole's Transport trait; decision 0036).
using System.Net;
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

public abstract class Transport
{
    /// <summary>The raw bytes, before any TLS of the connection's own.</summary>
    public abstract Stream Stream { get; }

    public abstract EndPoint? RemoteEndPoint { get; }

    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>Ends sending (TCP's FIN, a WebSocket's close frame); receiving goes on.</summary>
    public abstract ValueTask ShutdownSendAsync(CancellationToken cancellationToken);

    /// <summary>Ends both directions at once, dropping anything unsent. Idempotent.</summary>
    public abstract void Abort();
}

/// <summary>A connected socket: the transport of every TCP connection.</summary>
internal sealed class SocketTransport(Socket socket) : Transport
{
    private readonly NetworkStream _stream = new(socket, ownsSocket: true);

    public Socket Socket => socket;

    public override Stream Stream => _stream;

    public override EndPoint? RemoteEndPoint { get; } = SafeEndPoint(socket, remote: true);

    public override EndPoint? LocalEndPoint { get; } = SafeEndPoint(socket, remote: false);

    public override ValueTask ShutdownSendAsync(CancellationToken cancellationToken)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error))
        {
        }

        return ValueTask.CompletedTask;
    }

    public override void Abort() => socket.Dispose();

    private static EndPoint? SafeEndPoint(Socket socket, bool remote)
    {
        try
        {
            return remote ? socket.RemoteEndPoint : socket.LocalEndPoint;
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            return null; // the peer is already gone
        }
    }
}
