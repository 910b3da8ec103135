// Tells an ordinary end of a connection (reset, abort, our own close) from a real fault.
using System.Net.Sockets;

namespace Gray.Net.Internal;

internal static class SocketErrors
{
    /// <summary>True when the exception only says that the peer or we closed the connection.</summary>
    public static bool IsConnectionEnd(Exception error) => error switch
    {
        OperationCanceledException => true,
        ObjectDisposedException => true,
        SocketException se => IsConnectionEnd(se.SocketErrorCode),
        IOException { InnerException: SocketException se } => IsConnectionEnd(se.SocketErrorCode),
        IOException { InnerException: ObjectDisposedException } => true,
        _ => false,
    };

    /// <summary>EMFILE and ENFILE: the process or the system has no descriptors left.</summary>
    public static bool IsDescriptorExhaustion(SocketException error) =>
        error.SocketErrorCode == SocketError.TooManyOpenSockets;

    private static bool IsConnectionEnd(SocketError code) => code is
        SocketError.ConnectionReset or
        SocketError.ConnectionAborted or
        SocketError.OperationAborted or
        SocketError.Interrupted or
        SocketError.Shutdown or
        SocketError.NotConnected or
        SocketError.Disconnecting or
        SocketError.TimedOut or
        SocketError.HostUnreachable or
        SocketError.NetworkReset;
}
