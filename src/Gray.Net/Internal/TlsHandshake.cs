// Wraps a connected transport's stream in an SslStream and runs one side of the handshake.
using System.Net.Security;

namespace Gray.Net.Internal;

internal static class TlsHandshake
{
    public static async ValueTask<Stream> RunAsync(Stream transport,
        Func<SslStream, CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(transport, leaveInnerStreamOpen: false);
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
