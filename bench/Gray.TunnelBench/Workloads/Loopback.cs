// Client-side socket helpers shared by the workloads: connect with TCP_NODELAY, exact reads.
using System.Net;
using System.Net.Sockets;

namespace Gray.TunnelBench.Workloads;

internal static class Loopback
{
    /// <summary>Size of every request and response, in bytes.</summary>
    public const int MessageBytes = 32;

    public static async Task<Socket> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the request and reads the whole echo; false if the peer closed first.</summary>
    public static async ValueTask<bool> RoundTripAsync(
        Socket socket, byte[] request, byte[] response, CancellationToken cancellationToken)
    {
        await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        for (int read = 0; read < response.Length;)
        {
            int n = await socket.ReceiveAsync(response.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0) return false;
            read += n;
        }

        return true;
    }
}
