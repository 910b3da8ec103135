// Which server a host name reaches: an exact claim first, then the wildcard one level up. Built anew
// from the registry after every change (changes are rare), read without a lock on every connection.
using System.Collections.Frozen;

namespace Gray.Relay.HostRouting;

public sealed class HostTable
{
    public static readonly HostTable Empty = new(FrozenDictionary<string, string>.Empty);

    private readonly FrozenDictionary<string, string> _servers;

    private HostTable(FrozenDictionary<string, string> servers) => _servers = servers;

    /// <summary>Claims, each already normalized (<see cref="HostName.NormalizeClaim"/>) and held once.</summary>
    public static HostTable From(IEnumerable<(string Host, string ServerId)> claims) =>
        new(claims.ToFrozenDictionary(c => c.Host, c => c.ServerId, StringComparer.Ordinal));

    public int Count => _servers.Count;

    /// <summary>The server that claimed <paramref name="host"/> (normalized by
    /// <see cref="HostName.NormalizeRequest"/>) or a wildcard over it; null if none did.</summary>
    public string? Find(string host) =>
        _servers.GetValueOrDefault(host)
        ?? (HostName.WildcardFor(host) is { } wildcard ? _servers.GetValueOrDefault(wildcard) : null);
}
