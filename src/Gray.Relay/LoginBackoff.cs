// Wrong proofs back off per address (by AddressPrefix): a few are free, then each further one blocks
// the address for twice as long as the last, up to a ceiling; a good proof forgives. Bounded: at most
// MaxTracked networks are remembered, and forgotten once quiet (decision 0034).
using System.Collections.Concurrent;
using System.Net;
using Gray.Net;

namespace Gray.Relay;

internal sealed class LoginBackoff(TimeProvider time, AddressPrefix prefix)
{
    /// <summary>Wrong proofs an address may make before it is blocked.</summary>
    public const int FreeFailures = 5;

    /// <summary>The first block; each further failure doubles it.</summary>
    private static readonly TimeSpan FirstBlock = TimeSpan.FromSeconds(1);

    /// <summary>The longest block.</summary>
    public static readonly TimeSpan LongestBlock = TimeSpan.FromMinutes(5);

    /// <summary>A network quiet for this long starts again from nothing.</summary>
    private static readonly TimeSpan Memory = TimeSpan.FromMinutes(15);

    /// <summary>Networks remembered at once; past it the quiet ones are swept, and if none is, new ones go
    /// untracked: memory stays bounded however many networks an attacker holds.</summary>
    private const int MaxTracked = 100_000;

    private readonly ConcurrentDictionary<IPAddress, Record> _records = new();

    /// <summary>True if <paramref name="address"/> is blocked now; <paramref name="retryAfter"/> says for how
    /// long.</summary>
    public bool IsBlocked(IPAddress address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (!_records.TryGetValue(prefix.KeyOf(address), out var record)) return false;
        lock (record)
        {
            retryAfter = record.BlockedUntil - time.GetUtcNow();
        }

        return retryAfter > TimeSpan.Zero;
    }

    public void Failed(IPAddress address)
    {
        var now = time.GetUtcNow();
        var key = prefix.KeyOf(address);
        if (_records.Count >= MaxTracked && !_records.ContainsKey(key))
        {
            Sweep(now);
            if (_records.Count >= MaxTracked) return;
        }

        var record = _records.GetOrAdd(key, _ => new Record());
        lock (record)
        {
            if (now - record.LastFailure >= Memory) record.Failures = 0;
            record.Failures++;
            record.LastFailure = now;
            int over = record.Failures - FreeFailures;
            if (over <= 0) return;
            var block = over >= 20 ? LongestBlock
                : TimeSpan.FromTicks(Math.Min(FirstBlock.Ticks << (over - 1), LongestBlock.Ticks));
            record.BlockedUntil = now + block;
        }
    }

    public void Succeeded(IPAddress address) => _records.TryRemove(prefix.KeyOf(address), out _);

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, record) in _records)
        {
            bool quiet;
            lock (record) quiet = now - record.LastFailure >= Memory && now >= record.BlockedUntil;
            if (quiet) _records.TryRemove(key, out _);
        }
    }

    private sealed class Record
    {
        public int Failures;
        public DateTimeOffset LastFailure;
        public DateTimeOffset BlockedUntil;
    }
}
