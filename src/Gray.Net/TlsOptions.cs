// TLS settings for servers and clients.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

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
    /// <summary>
    /// The name the server's certificate must carry (SNI). It is also the key under which .NET keeps
    /// the client's TLS session for resumption; .NET resumes nothing for an IP address.
    /// </summary>
    public string TargetHost { get; set; } = "localhost";

    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>Decides on the server's certificate, e.g. <see cref="Certificates.PinSha256"/>.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; set; }

    /// <summary>
    /// How the server's chain is built before <see cref="ServerCertificateValidation"/> sees it (copied
    /// for each handshake); null: the system's trust store, which costs about 0.3 ms of CPU per handshake.
    /// </summary>
    public X509ChainPolicy? CertificateChainPolicy { get; set; }

    public SslProtocols Protocols { get; set; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Options for connections to <paramref name="host"/>:<paramref name="port"/> that accept exactly the
    /// certificate with this SHA-256 fingerprint and are cheap to repeat: the pin alone decides (no chain
    /// trust, no name check), and TLS sessions resume, under a name of their own per host and port, also
    /// when <paramref name="host"/> is an IP address. A resumed session is one the same server process
    /// issued after a full handshake, and the pin still checks the certificate of that handshake.
    /// </summary>
    public static TlsClientOptions Pinned(string fingerprint, string host, int port) => new()
    {
        TargetHost = SessionName(host, port, fingerprint),
        ServerCertificateValidation = Certificates.PinSha256(fingerprint),
        CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust, // an empty trust list: nothing but the pin is trusted
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        },
    };

    private const string PinnedPrefix = "pinned-";

    /// <summary>Hex digits of the pinned fingerprint that the SNI name carries.</summary>
    private const int FingerprintChars = 16;

    // A DNS label per host, port and pinned certificate under the reserved .invalid domain, sent as SNI.
    // Per port, because each server's tickets resume only with that server; with the fingerprint, so
    // that a server that changed its certificate can still show a pinned client the one it pinned
    // (TlsServer.UpdateCertificate keeps a few).
    private static string SessionName(string host, int port, string fingerprint)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(host.ToLowerInvariant()));
        string pin = Certificates.NormalizeFingerprint(fingerprint);
        return $"{PinnedPrefix}{port}-{Convert.ToHexStringLower(hash, 0, 8)}-" +
            $"{pin[..Math.Min(FingerprintChars, pin.Length)]}.invalid";
    }

    /// <summary>The start of the certificate fingerprint a pinned client named in its SNI, or null.</summary>
    public static string? PinnedFingerprintPrefix(string? serverName)
    {
        if (serverName is null || !serverName.StartsWith(PinnedPrefix, StringComparison.Ordinal)) return null;
        int end = serverName.IndexOf('.', StringComparison.Ordinal);
        int dash = serverName.LastIndexOf('-', end < 0 ? serverName.Length - 1 : end);
        return end > dash + 1 && dash > 0 ? serverName[(dash + 1)..end] : null;
    }
}
