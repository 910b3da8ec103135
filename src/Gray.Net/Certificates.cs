// Loading, making and fingerprinting TLS certificates.
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gray.Net;

public static class Certificates
{
    /// <summary>Loads a certificate and its private key from PEM files.</summary>
    public static X509Certificate2 LoadPem(string certificatePath, string keyPath) =>
        Reload(X509Certificate2.CreateFromPemFile(certificatePath, keyPath));

    /// <summary>Loads a certificate and its private key from a PKCS#12 (PFX) file.</summary>
    public static X509Certificate2 LoadPfx(string path, string? password = null) =>
        X509CertificateLoader.LoadPkcs12FromFile(path, password);

    /// <summary>Makes a self-signed ECDSA P-256 certificate in memory.</summary>
    public static X509Certificate2 CreateSelfSigned(string subjectName = "localhost", TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subjectName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(subjectName);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5),
            now.Add(validity ?? TimeSpan.FromDays(3650)));
        return Reload(certificate);
    }

    /// <summary>SHA-256 of the DER certificate as 64 lowercase hex digits.</summary>
    public static string Sha256Fingerprint(X509Certificate certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));

    /// <summary>A fingerprint as lowercase hex digits only: colons and a "sha256" prefix removed.</summary>
    public static string NormalizeFingerprint(string fingerprint)
    {
        string hex = fingerprint.Replace(":", "", StringComparison.Ordinal).Trim();
        if (hex.StartsWith("sha256", StringComparison.OrdinalIgnoreCase)) hex = hex[6..].TrimStart('=', '-');
        return hex.ToLowerInvariant();
    }

    /// <summary>Compares a certificate with a fingerprint given as hex, with or without colons, any case.</summary>
    public static bool MatchesFingerprint(X509Certificate certificate, string fingerprint)
    {
        string expected = NormalizeFingerprint(fingerprint);
        byte[] actual = SHA256.HashData(certificate.GetRawCertData());
        byte[] wanted;
        try
        {
            wanted = Convert.FromHexString(expected);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(actual, wanted);
    }

    /// <summary>A validation callback that accepts exactly the certificate with this SHA-256 fingerprint.</summary>
    public static RemoteCertificateValidationCallback PinSha256(string fingerprint) =>
        (_, certificate, _, _) => certificate is not null && MatchesFingerprint(certificate, fingerprint);

    // A round trip through PKCS#12 gives a certificate whose key every platform's TLS stack can use.
    private static X509Certificate2 Reload(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
}
