// The set of agent public keys (ECDSA P-256) that may authenticate instead of an HMAC secret: read
// from a file or a file:// / http(s):// URL, re-read periodically (a watched key set).
// A key that disappears drops the agent that used it.
using System.Security.Cryptography;
using Gray.Protocol;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class TrustedKeys : IDisposable
{
    /// <summary>Deadline for fetching the key set from a URL.</summary>
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(1);

    private readonly string _source;
    private readonly RelayContext _relay;
    private readonly ILogger _log;
    private readonly Timer _timer;
    private readonly HttpClient _http = new() { Timeout = FetchTimeout };
    private volatile IReadOnlyDictionary<string, IReadOnlyList<byte[]>> _keys =
        new Dictionary<string, IReadOnlyList<byte[]>>();

    public TrustedKeys(string source, TimeSpan refresh, RelayContext relay, ILogger log)
    {
        _source = source;
        _relay = relay;
        _log = log;
        _keys = Parse(Fetch()); // a bad key set at start is a configuration error
        _timer = new Timer(_ => Refresh(), null, refresh, refresh);
    }

    /// <summary>The key (SubjectPublicKeyInfo) of <paramref name="id"/> that made this signature, or null.</summary>
    public byte[]? Verify(string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> signature)
    {
        foreach (byte[] key in _keys.GetValueOrDefault(id) ?? [])
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(key, out _);
            if (Auth.VerifySignature(ecdsa, id, challenge, signature)) return key;
        }

        return null;
    }

    public bool IsTrusted(string id, byte[] key) =>
        _keys.GetValueOrDefault(id)?.Any(k => k.AsSpan().SequenceEqual(key)) == true;

    public void Dispose()
    {
        _timer.Dispose();
        _http.Dispose();
    }

    private void Refresh()
    {
        try
        {
            _keys = Parse(Fetch());
        }
        catch (Exception error)
            when (error is IOException or HttpRequestException or TaskCanceledException or FormatException
                or CryptographicException)
        {
            _log.LogWarning("Trusted keys from {Source} could not be read, the previous set stays: {Reason}", _source,
                error.Message);
            return;
        }

        foreach (var server in _relay.Manager.All)
        {
            if (server.AuthKey is { } key && !IsTrusted(server.Id, key))
            {
                _log.LogWarning("Server {ServerId}: its agent's key was removed from the trusted keys; dropping it",
                    server.Id);
                Background.Observe(server.ShutdownAsync("its key is no longer trusted", keepPairs: false,
                    ErrorCode.KeyRevoked), $"Server {server.Id}: shutdown", _log);
            }
        }
    }

    private string Fetch()
    {
        if (_source.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || _source.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return _http.GetStringAsync(_source).GetAwaiter().GetResult();
        }

        string path = _source.StartsWith("file://", StringComparison.OrdinalIgnoreCase)
            ? new Uri(_source).LocalPath : _source;
        return File.ReadAllText(path);
    }

    /// <summary>Lines of "ID BASE64-SUBJECT-PUBLIC-KEY-INFO"; '#' starts a comment.</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<byte[]>> Parse(string text)
    {
        var keys = new Dictionary<string, List<byte[]>>();
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 2 || !Auth.IsValidId(parts[0]))
            {
                throw new FormatException($"line {number}: expected ID and a base64 public key");
            }
            byte[] key = Convert.FromBase64String(parts[1]);
            using (var check = ECDsa.Create())
            {
                check.ImportSubjectPublicKeyInfo(key, out _);
                if (check.KeySize != 256) throw new FormatException($"line {number}: not an ECDSA P-256 key");
            }

            (keys.TryGetValue(parts[0], out var list) ? list : keys[parts[0]] = []).Add(key);
        }

        return keys.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<byte[]>)kv.Value);
    }
}
