// TLS settings for servers and clients.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Gray.Net;

public sealed class TlsServerOptions
{
    public required X509Certificate2 Certificate { get; set; }

    /// <summary>Ask every client for a certificate and refuse the handshake without one.</summary>
    public bool ClientCertificateRequired { get; set; }

    /// <summary>Decides on the client's certificate; without it the platform's chain validation decides.</summary>
    public RemoteCertificateValidationCallback? ClientCertificateValidation { get; set; }

    /// <summary>None lets the platform choose (TLS 1.2 and 1.3 here).</summary>
    public SslProtocols Protocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;
}

public sealed class TlsClientOptions
{
    /// <summary>The name the server's certificate must carry (SNI).</summary>
    public string TargetHost { get; set; } = "localhost";

    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Decides on the server's certificate, e.g. <see cref="Certificates.PinSha256"/>.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    public SslProtocols Protocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;
}
