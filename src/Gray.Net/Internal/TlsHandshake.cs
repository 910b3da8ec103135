// Wraps a connected socket in an SslStream and runs one side of the handshake.
using System.Net.Security;
using System.Net.Sockets;

namespace Gray.Net.Internal;

internal static class TlsHandshake
{
    public static async ValueTask<Stream> RunAsync(Socket socket,
        Func<SslStream, CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
        try
        {
            await authenticate(ssl, cancellationToken).ConfigureAwait(false);
            OpenSslBuffers.ReleaseWhenIdle(ssl);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
