// A TCP server whose sessions speak TLS: the handshake runs in the session, under the handshake deadline.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gray.Net.Internal;

namespace Gray.Net;

public class TlsServer : TcpServer
{
    private readonly TlsServerOptions _tls;
    private SslStreamCertificateContext _certificateContext;

    public TlsServer(IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions? options = null)
        : base(endPoint, options)
    {
        _tls = tls;
        _certificateContext = SslStreamCertificateContext.Create(tls.Certificate, null);
    }

    public X509Certificate2 Certificate => _certificateContext.TargetCertificate;

    /// <summary>Uses <paramref name="certificate"/> for handshakes from now on; live sessions keep theirs.</summary>
    public void UpdateCertificate(X509Certificate2 certificate) =>
        Volatile.Write(ref _certificateContext, SslStreamCertificateContext.Create(certificate, null));

    protected override TcpSession CreateSession() => new TlsSession(this);

    protected override ValueTask<Stream> CreateStreamAsync(Socket socket, CancellationToken cancellationToken) =>
        AuthenticateAsync(socket, _tls, Volatile.Read(ref _certificateContext), cancellationToken);

    /// <summary>
    /// The server side of a TLS handshake over an accepted socket, for servers that choose TLS per listener.
    /// Pass the same <paramref name="certificate"/> context each time: sessions resume only within one.
    /// </summary>
    public static ValueTask<Stream> AuthenticateAsync(Socket socket, TlsServerOptions tls,
        SslStreamCertificateContext? certificate, CancellationToken cancellationToken)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate ?? SslStreamCertificateContext.Create(tls.Certificate, null),
            ClientCertificateRequired = tls.ClientCertificateRequired,
            RemoteCertificateValidationCallback = tls.ClientCertificateValidation,
            EnabledSslProtocols = tls.Protocols,
            // Resumption needs the same certificate context for every handshake: .NET keeps the OpenSSL
            // context, and with it the ticket keys, in it. Ticket keys are random per context and process, so
            // a new certificate (a new context) or a restart means a full handshake, never a resumed one.
            AllowTlsResume = true,
        };
        return TlsHandshake.RunAsync(socket, (ssl, ct) => ssl.AuthenticateAsServerAsync(options, ct),
            cancellationToken);
    }
}

/// <summary>The server side of one TLS connection.</summary>
public class TlsSession(TlsServer server) : TcpSession(server)
{
    public SslStream SslStream => (SslStream)Stream;

    /// <summary>The client's certificate, when it sent one.</summary>
    public X509Certificate? RemoteCertificate => SslStream.RemoteCertificate;
}
