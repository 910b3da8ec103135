// Idle TLS connections must not keep OpenSSL's 16 KiB read and write buffers (SSL_MODE_RELEASE_BUFFERS).
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net.Tests;

public class OpenSslBuffersTests
{
    [LinuxFact]
    public async Task Both_sides_of_a_handshake_let_OpenSSL_release_idle_buffers()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(Loopback.AnyPort);
        listener.Listen();
        var accepting = listener.AcceptAsync();
        var connected = await Loopback.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        var accepted = await accepting;
        using var deadline = new CancellationTokenSource(Loopback.Deadline);

        var server = TlsHandshake.RunAsync(new NetworkStream(accepted, ownsSocket: true), (ssl, ct) =>
            ssl.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions { ServerCertificate = Loopback.Certificate }, ct), deadline.Token);
        var client = TlsHandshake.RunAsync(new NetworkStream(connected, ownsSocket: true), (ssl, ct) =>
            ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                RemoteCertificateValidationCallback =
                    Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate)),
            }, ct), deadline.Token);
        await using var serverStream = (SslStream)await server;
        await using var clientStream = (SslStream)await client;

        Assert.Equal(true, OpenSslBuffers.ReleasesBuffers(serverStream));
        Assert.Equal(true, OpenSslBuffers.ReleasesBuffers(clientStream));

        // Bytes still flow both ways with the buffers released between records.
        for (int i = 0; i < 3; i++)
        {
            await clientStream.WriteAsync(new byte[] { 1, 2, 3 }, deadline.Token);
            Assert.Equal(new byte[] { 1, 2, 3 }, await Loopback.ReadExactlyAsync(serverStream, 3));
            await serverStream.WriteAsync(new byte[] { 4 }, deadline.Token);
            Assert.Equal(new byte[] { 4 }, await Loopback.ReadExactlyAsync(clientStream, 1));
        }
    }
}
