// Proof of the secret: HMAC-SHA256 over the relay's challenge, so the secret never crosses the wire.
using System.Security.Cryptography;
using System.Text;

namespace Gray.Protocol;

public static class Auth
{
    /// <summary>Secrets are 256 random bits, written as base64url without padding.</summary>
    public const int SecretBytes = 32;

    private static readonly byte[] Domain = "gray/1 control proof"u8.ToArray();

    public static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));

    public static byte[] Proof(string secret, string id, ReadOnlySpan<byte> challenge)
    {
        byte[] idBytes = Encoding.UTF8.GetBytes(id);
        var message = new byte[Domain.Length + 2 + idBytes.Length + challenge.Length];
        Domain.CopyTo(message, 0);
        message[Domain.Length] = (byte)(idBytes.Length >> 8);
        message[Domain.Length + 1] = (byte)idBytes.Length;
        idBytes.CopyTo(message, Domain.Length + 2);
        challenge.CopyTo(message.AsSpan(Domain.Length + 2 + idBytes.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
    }

    public static bool Verify(string secret, string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> proof) =>
        CryptographicOperations.FixedTimeEquals(Proof(secret, id, challenge), proof);

    private static readonly byte[] KeyDomain = "gray/1 key proof"u8.ToArray();

    /// <summary>What an agent signs with its key: the domain, its ID and the relay's challenge.</summary>
    public static byte[] SignedMessage(string id, ReadOnlySpan<byte> challenge)
    {
        byte[] idBytes = Encoding.UTF8.GetBytes(id);
        return [.. KeyDomain, (byte)(idBytes.Length >> 8), (byte)idBytes.Length, .. idBytes, .. challenge];
    }

    public static byte[] Sign(ECDsa key, string id, ReadOnlySpan<byte> challenge) =>
        key.SignData(SignedMessage(id, challenge), HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static bool VerifySignature(ECDsa publicKey, string id, ReadOnlySpan<byte> challenge,
        ReadOnlySpan<byte> signature) =>
        signature.Length == Wire.SignatureBytes &&
        publicKey.VerifyData(SignedMessage(id, challenge), signature, HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    /// <summary>IDs: 1 to 64 of [A-Za-z0-9._-], so they are safe in file names, logs and URLs.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= Wire.MaxIdBytes && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
