// A TCP client that speaks TLS; the handshake is part of ConnectAsync and its deadline.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

public class TlsClient(EndPoint server, TlsClientOptions tls, TcpClientOptions? options = null)
    : TcpClient(server, options)
{
    public SslStream SslStream => (SslStream)Stream;

    protected override ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        AuthenticateAsync(transport, tls, cancellationToken);

    /// <summary>
    /// The client side of a TLS handshake over a connected transport, for clients that choose TLS per connection.
    /// </summary>
    public static ValueTask<Stream> AuthenticateAsync(Stream transport, TlsClientOptions tls,
        CancellationToken cancellationToken)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = tls.TargetHost,
            EnabledSslProtocols = tls.Protocols,
            RemoteCertificateValidationCallback = tls.ServerCertificateValidation,
            ClientCertificates = tls.ClientCertificate is null ? null : [tls.ClientCertificate],
            CertificateChainPolicy = tls.CertificateChainPolicy?.Clone(), // SslStream may add to the policy it gets
        };
        return TlsHandshake.RunAsync(transport, (ssl, ct) => ssl.AuthenticateAsClientAsync(options, ct),
            cancellationToken);
    }
}
