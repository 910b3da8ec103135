// A TCP server whose sessions speak TLS: the handshake runs in the session, under the handshake deadline.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gray.Net.Internal;

namespace Gray.Net;

public class TlsServer : TcpServer
{
    /// <summary>Certificates kept after an update, for clients that pinned one of them.</summary>
    public const int PreviousCertificates = 4;

    private readonly TlsServerOptions _tls;
    private readonly object _gate = new();
    private SslStreamCertificateContext _certificateContext;
    private (string Fingerprint, SslStreamCertificateContext Context)[] _previous = [];

    public TlsServer(IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions? options = null)
        : base(endPoint, options)
    {
        _tls = tls;
        _certificateContext = SslStreamCertificateContext.Create(tls.Certificate, null);
    }

    public X509Certificate2 Certificate => _certificateContext.TargetCertificate;

    /// <summary>
    /// Uses <paramref name="certificate"/> for handshakes from now on; live sessions keep theirs, and a
    /// client that names one of the last few in its SNI (<see cref="TlsClientOptions.Pinned"/>) still gets
    /// that one, so that clients pinned to it go on until they reconnect on purpose.
    /// </summary>
    public void UpdateCertificate(X509Certificate2 certificate)
    {
        lock (_gate)
        {
            var current = _certificateContext;
            _previous = [(Certificates.Sha256Fingerprint(current.TargetCertificate), current),
                .. _previous.Take(PreviousCertificates - 1)];
            Volatile.Write(ref _certificateContext, SslStreamCertificateContext.Create(certificate, null));
        }
    }

    protected override TcpSession CreateSession() => new TlsSession(this);

    protected override ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        Volatile.Read(ref _previous).Length == 0
            ? AuthenticateAsync(transport, _tls, Volatile.Read(ref _certificateContext), cancellationToken)
            : TlsHandshake.RunAsync(transport, (ssl, ct) => ssl.AuthenticateAsServerAsync(
                (_, hello, _, _) => ValueTask.FromResult(HandshakeOptions(_tls, ContextFor(hello.ServerName))), null,
                ct), cancellationToken);

    // The current certificate, or an earlier one that a pinned client names by its fingerprint's start.
    private SslStreamCertificateContext ContextFor(string? serverName)
    {
        if (TlsClientOptions.PinnedFingerprintPrefix(serverName) is { } pinned)
        {
            foreach (var (fingerprint, context) in Volatile.Read(ref _previous))
            {
                if (fingerprint.StartsWith(pinned, StringComparison.Ordinal)) return context;
            }
        }

        return Volatile.Read(ref _certificateContext);
    }

    /// <summary>
    /// The server side of a TLS handshake over an accepted transport, for servers that choose TLS per listener.
    /// Pass the same <paramref name="certificate"/> context each time: sessions resume only within one.
    /// </summary>
    public static ValueTask<Stream> AuthenticateAsync(Stream transport, TlsServerOptions tls,
        SslStreamCertificateContext? certificate, CancellationToken cancellationToken)
    {
        var options = HandshakeOptions(tls, certificate ?? SslStreamCertificateContext.Create(tls.Certificate, null));
        return TlsHandshake.RunAsync(transport, (ssl, ct) => ssl.AuthenticateAsServerAsync(options, ct),
            cancellationToken);
    }

    private static SslServerAuthenticationOptions HandshakeOptions(TlsServerOptions tls,
        SslStreamCertificateContext certificate) => new()
        {
            ServerCertificateContext = certificate,
            ClientCertificateRequired = tls.ClientCertificateRequired,
            RemoteCertificateValidationCallback = tls.ClientCertificateValidation,
            EnabledSslProtocols = tls.Protocols,
            // Resumption needs the same certificate context for every handshake: .NET keeps the OpenSSL
            // context, and with it the ticket keys, in it. Ticket keys are random per context and process, so
            // a new certificate (a new context) or a restart means a full handshake, never a resumed one.
            AllowTlsResume = true,
        };
}

/// <summary>The server side of one TLS connection.</summary>
public class TlsSession(TlsServer server) : TcpSession(server)
{
    public SslStream SslStream => (SslStream)Stream;

    /// <summary>The client's certificate, when it sent one.</summary>
    public X509Certificate? RemoteCertificate => SslStream.RemoteCertificate;
}
