// The relay's TLS certificate: a configured PEM pair, or a self-signed ECDSA P-256 one made on the
// first start and kept in the data directory, so its fingerprint stays the same.
using System.Security.Cryptography.X509Certificates;
using Gray.Net;

namespace Gray.Relay;

public static class RelayCertificate
{
    public const string CertificateFile = "relay-cert.pem";

    public const string KeyFile = "relay-key.pem";

    public static X509Certificate2 LoadOrCreate(RelayOptions options, string dataDir)
    {
        if (options.CertificatePath is not null && options.KeyPath is not null)
        {
            return Certificates.LoadPem(options.CertificatePath, options.KeyPath);
        }

        string certPath = Path.Combine(dataDir, CertificateFile), keyPath = Path.Combine(dataDir, KeyFile);
        if (File.Exists(certPath) && File.Exists(keyPath)) return Certificates.LoadPem(certPath, keyPath);

        using var created = Certificates.CreateSelfSigned("gray-relay", TimeSpan.FromDays(3650));
        DataDirectory.WritePrivate(keyPath, created.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        DataDirectory.WritePrivate(certPath, created.ExportCertificatePem());
        return Certificates.LoadPem(certPath, keyPath);
    }
}
