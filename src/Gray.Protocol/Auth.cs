// Proof of the secret or key: an HMAC-SHA256 or ECDSA signature over the relay's challenge and the TLS
// channel binding, so the secret never crosses the wire and a proof made through a man in the middle
// (who presents another certificate) fails at the relay (decision 0034).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Gray.Protocol;

public static class Auth
{
    /// <summary>Secrets are 256 random bits, written as base64url without padding.</summary>
    public const int SecretBytes = 32;

    /// <summary>Shortest secret accepted where a person writes one (a declared server's).</summary>
    public const int MinSecretChars = 32;

    private static readonly byte[] Domain = "gray/2 control proof"u8.ToArray();

    private static readonly byte[] KeyDomain = "gray/2 key proof"u8.ToArray();

    public static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>
    /// tls-server-end-point (RFC 5929): the hash of the relay's certificate, with the hash of its
    /// signature algorithm (SHA-256 for MD5, SHA-1 and anything unknown). The agent hashes the certificate
    /// it received, the relay its own.
    /// </summary>
    public static byte[] ChannelBinding(X509Certificate2 relayCertificate) =>
        relayCertificate.SignatureAlgorithm.Value switch
        {
            "1.2.840.10045.4.3.3" or "1.2.840.113549.1.1.12" => SHA384.HashData(relayCertificate.RawData),
            "1.2.840.10045.4.3.4" or "1.2.840.113549.1.1.13" => SHA512.HashData(relayCertificate.RawData),
            _ => SHA256.HashData(relayCertificate.RawData),
        };

    public static byte[] Proof(string secret, string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> binding) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Message(Domain, id, challenge, binding));

    public static bool Verify(string secret, string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> binding,
        ReadOnlySpan<byte> proof) =>
        CryptographicOperations.FixedTimeEquals(Proof(secret, id, challenge, binding), proof);

    public static byte[] Sign(ECDsa key, string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> binding) =>
        key.SignData(Message(KeyDomain, id, challenge, binding), HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static bool VerifySignature(ECDsa publicKey, string id, ReadOnlySpan<byte> challenge,
        ReadOnlySpan<byte> binding, ReadOnlySpan<byte> signature) =>
        signature.Length == Wire.SignatureBytes &&
        publicKey.VerifyData(Message(KeyDomain, id, challenge, binding), signature, HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>IDs: 1 to 64 of [A-Za-z0-9._-], so they are safe in file names, logs and URLs.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= Wire.MaxIdBytes && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    // domain ‖ u16 ID length ‖ ID ‖ challenge ‖ u8 binding length ‖ binding
    private static byte[] Message(byte[] domain, string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> binding)
    {
        byte[] idBytes = Encoding.UTF8.GetBytes(id);
        return [.. domain, (byte)(idBytes.Length >> 8), (byte)idBytes.Length, .. idBytes, .. challenge,
            (byte)binding.Length, .. binding];
    }

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
