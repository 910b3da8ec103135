// Which server a host name reaches: an exact claim first, then the wildcard one level up. Built anew
// from the registry after every change (changes are rare), read without a lock and without allocating
// on every connection (a wildcard is kept by the name it covers the labels of: "*.dev.x" as "dev.x").
using System.Collections.Frozen;

namespace Gray.Relay.HostRouting;

public sealed class HostTable
{
    public static readonly HostTable Empty = From([]);

    private const string WildcardPrefix = "*.";

    private readonly FrozenDictionary<string, string> _exact, _wildcards;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _wildcardsBySpan;

    private HostTable(FrozenDictionary<string, string> exact, FrozenDictionary<string, string> wildcards)
    {
        _exact = exact;
        _wildcards = wildcards;
        _wildcardsBySpan = wildcards.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Claims, each already normalized (<see cref="HostName.NormalizeClaim"/>) and held once.</summary>
    public static HostTable From(IEnumerable<(string Host, string ServerId)> claims)
    {
        var all = claims.ToList();
        return new HostTable(
            all.Where(c => !IsWildcard(c.Host))
                .ToFrozenDictionary(c => c.Host, c => c.ServerId, StringComparer.Ordinal),
            all.Where(c => IsWildcard(c.Host))
                .ToFrozenDictionary(c => c.Host[WildcardPrefix.Length..], c => c.ServerId, StringComparer.Ordinal));
    }

    /// <summary>The server that claimed <paramref name="host"/> (normalized by
    /// <see cref="HostName.NormalizeRequest"/>) or a wildcard over it; null if none did.</summary>
    public string? Find(string host)
    {
        if (_exact.TryGetValue(host, out string? id)) return id;
        int dot = host.IndexOf('.');
        return dot > 0 && _wildcardsBySpan.TryGetValue(host.AsSpan(dot + 1), out id) ? id : null;
    }

    /// <summary>The server holding <paramref name="claim"/> itself (a name or a wildcard, normalized).</summary>
    public string? Holder(string claim) => IsWildcard(claim)
        ? _wildcards.GetValueOrDefault(claim[WildcardPrefix.Length..])
        : _exact.GetValueOrDefault(claim);

    private static bool IsWildcard(string claim) => claim.StartsWith(WildcardPrefix, StringComparison.Ordinal);
}
