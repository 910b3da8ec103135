// Verifies an agent's proof so that an outsider learns nothing: every failure that depends on the ID
// (unknown, wrong secret, no such key, the secret refused by auth: key, no trusted keys) costs the same
// work and gets the same answer; only a valid proof earns a specific refusal (decision 0034).
using System.Security.Cryptography;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed class LoginCheck : IDisposable
{
    // Stand-ins for the work of a real check when there is nothing real to check against.
    private readonly string _decoySecret = Auth.NewSecret();
    private readonly ECDsa _decoyKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The server entry and, for a key proof, the key that made it; null for any failure.</summary>
    public (ServerEntry Entry, byte[]? Key)? Verify(RelayContext relay, Hello hello, ReadOnlySpan<byte> challenge,
        ReadOnlySpan<byte> binding, ControlMessage proof)
    {
        var entry = Auth.IsValidId(hello.Id) ? relay.Registry.Find(hello.Id) : null;
        var rules = entry is null ? relay.Options.DefaultRules : relay.Options.RulesFor(entry.Id);
        if (proof is SignedProof signed)
        {
            byte[]? key = entry is null ? null : relay.TrustedKeys?.Verify(entry.Id, challenge, binding,
                signed.Signature);
            if (key is null && (entry is null || relay.TrustedKeys is null))
            {
                Auth.VerifySignature(_decoyKey, hello.Id, challenge, binding, signed.Signature);
            }

            return key is null ? null : (entry!, key);
        }

        var mac = ((Proof)proof).Mac;
        bool valid = Auth.Verify(entry?.Secret ?? _decoySecret, hello.Id, challenge, binding, mac);
        return valid && entry is not null && rules.Auth != ServerAuth.KeyOnly ? (entry, null) : null;
    }

    public void Dispose() => _decoyKey.Dispose();
}
