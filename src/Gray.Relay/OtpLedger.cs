// The one-time passwords a tunnel has issued to its agent and not yet seen redeemed: single use,
// expiring after their lifetime, compared in constant time. Not thread-safe: its tunnel holds the lock.
using System.Security.Cryptography;
using Gray.Protocol;

namespace Gray.Relay;

internal sealed class OtpLedger(string serverId, TimeProvider time, RelayMetrics metrics)
{
    private readonly List<IssuedOtp> _issued = new();

    /// <summary>OTPs issued, unexpired and not yet redeemed.</summary>
    public int Outstanding => _issued.Count;

    /// <summary>New OTPs, each valid for <paramref name="lifetime"/>.</summary>
    public List<byte[]> Issue(int count, TimeSpan lifetime)
    {
        var fresh = new List<byte[]>(count);
        long now = time.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            var otp = new IssuedOtp(RandomNumberGenerator.GetBytes(Wire.OtpBytes), now, lifetime);
            _issued.Add(otp);
            fresh.Add(otp.Value);
        }

        metrics.Otp(serverId, "issued", count);
        return fresh;
    }

    /// <summary>True once for an issued, unexpired OTP; every comparison takes the same time.</summary>
    public bool TryRedeem(ReadOnlySpan<byte> otp)
    {
        ExpireDue();
        for (int i = 0; i < _issued.Count; i++)
        {
            if (CryptographicOperations.FixedTimeEquals(_issued[i].Value, otp))
            {
                _issued.RemoveAt(i);
                metrics.Otp(serverId, "used");
                return true;
            }
        }

        metrics.Otp(serverId, "rejected");
        return false;
    }

    /// <summary>Forgets the OTPs whose lifetime has passed.</summary>
    public void ExpireDue() =>
        metrics.Otp(serverId, "expired", _issued.RemoveAll(o => time.GetElapsedTime(o.IssuedAt) >= o.Lifetime));

    public void Clear() => _issued.Clear();

    private readonly record struct IssuedOtp(byte[] Value, long IssuedAt, TimeSpan Lifetime);
}
