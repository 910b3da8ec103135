// The set of agent public keys (ECDSA P-256) that may authenticate instead of an HMAC secret: read
// from a file or an https:// URL (http:// only when allowed outright), and re-read by one loop, so
// that refreshes never overlap. A refresh that fails in any way (network, status, redirect, size,
// encoding, parse, an empty set, a path that became a directory) keeps the previous set; the failure
// is logged once, then again only every few minutes while it lasts (decision 0033).
using System.Security.Cryptography;
using System.Text;
using Gray.Hosting;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed class TrustedKeys : IAsyncDisposable
{
    /// <summary>Largest key set read, in bytes.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Deadline for fetching the key set from a URL.</summary>
    private static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(5);

    /// <summary>While refreshes keep failing, the error is logged again at most this often.</summary>
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromMinutes(5);

    private static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    private readonly string _source;
    private readonly Uri? _url;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Action<TrustedKeys> _refreshed;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly ECDsa _decoyKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly Task _refreshing;
    private volatile IReadOnlyDictionary<string, IReadOnlyList<byte[]>> _keys;
    private DateTimeOffset? _lastFailureLogged;
    private long _failures;
    private long _attempts;

    /// <summary>
    /// Reads the set once (a failure is a configuration error), then every <paramref name="refresh"/>;
    /// <paramref name="refreshed"/> runs after each successful refresh (to drop agents whose key went).
    /// </summary>
    public TrustedKeys(string source, TimeSpan refresh, bool allowHttp, TimeProvider time, ILogger log,
        Action<TrustedKeys> refreshed)
    {
        _source = source;
        _time = time;
        _log = log;
        _refreshed = refreshed;
        if (source.Contains("://", StringComparison.Ordinal))
        {
            _url = ParseUrl(source, allowHttp);
        }

        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            Timeout = FetchTimeout,
            MaxResponseContentBufferSize = MaxBytes,
        };
        try
        {
            _keys = Parse(FetchAsync(CancellationToken.None).GetAwaiter().GetResult());
        }
        catch (Exception error) when (error is not ConfigException)
        {
            _http.Dispose();
            throw new ConfigException($"trusted_keys: {source}: {Describe(error)}");
        }

        _refreshing = RefreshLoopAsync(refresh, _stop.Token);
    }

    /// <summary>Refreshes that failed since the start (each kept the previous set).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Refreshes attempted since the start, failed or not.</summary>
    public long Attempts => Interlocked.Read(ref _attempts);

    /// <summary>
    /// The key (SubjectPublicKeyInfo) of <paramref name="id"/> that made this signature, or null. An ID
    /// with no key costs one verification too, so that timing does not tell which IDs have keys.
    /// </summary>
    public byte[]? Verify(string id, ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> binding,
        ReadOnlySpan<byte> signature)
    {
        if (_keys.GetValueOrDefault(id) is not { Count: > 0 } keys)
        {
            Auth.VerifySignature(_decoyKey, id, challenge, binding, signature);
            return null;
        }

        foreach (byte[] key in keys)
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(key, out _);
            if (Auth.VerifySignature(ecdsa, id, challenge, binding, signature)) return key;
        }

        return null;
    }

    public bool IsTrusted(string id, byte[] key) =>
        _keys.GetValueOrDefault(id)?.Any(k => k.AsSpan().SequenceEqual(key)) == true;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _refreshing.ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
        _decoyKey.Dispose();
    }

    private static Uri ParseUrl(string source, bool allowHttp)
    {
        if (!Uri.TryCreate(source, UriKind.Absolute, out var url))
        {
            throw new ConfigException($"trusted_keys.source: '{source}' is not a URL");
        }

        return url.Scheme switch
        {
            "https" or "file" => url,
            "http" when allowHttp => url,
            "http" => throw new ConfigException(
                "trusted_keys.source: an http:// URL lets anyone on the path vouch for a key; use https://, or " +
                "set trusted_keys.allow_http: true if the path is trusted"),
            _ => throw new ConfigException($"trusted_keys.source: '{url.Scheme}://' is not supported (https or file)"),
        };
    }

    // One refresh at a time: the next waits for the timer after this one has ended.
    private async Task RefreshLoopAsync(TimeSpan refresh, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(refresh, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            _keys = Parse(await FetchAsync(cancellationToken).ConfigureAwait(false));
            if (_lastFailureLogged is not null)
            {
                _log.LogInformation("Trusted keys from {Source} are readable again", _source);
                _lastFailureLogged = null;
            }

            _refreshed(this);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception error) // whatever happened, the previous set stays
        {
            Interlocked.Increment(ref _failures);
            var now = _time.GetUtcNow();
            if (_lastFailureLogged is not { } last || now - last >= FailureLogInterval)
            {
                _lastFailureLogged = now;
                _log.LogError("Trusted keys from {Source} could not be read, the previous set stays: {Reason}",
                    _source, LogText.Escape(Describe(error)));
            }
        }
        finally
        {
            Interlocked.Increment(ref _attempts);
        }
    }

    private async Task<string> FetchAsync(CancellationToken cancellationToken)
    {
        if (_url is { Scheme: "http" or "https" } url)
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
                .ConfigureAwait(false);
            if ((int)response.StatusCode != 200)
            {
                throw new IOException($"the server answered {(int)response.StatusCode} (only 200 is accepted)");
            }

            if (response.Content.Headers.ContentLength > MaxBytes) throw TooLarge();
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return Decode(await ReadCappedAsync(body, cancellationToken).ConfigureAwait(false));
        }

        string path = _url?.LocalPath ?? _source;
        if (Directory.Exists(path)) throw new IOException("it is a directory, not a file");
        await using var file = File.OpenRead(path);
        return Decode(await ReadCappedAsync(file, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<byte[]> ReadCappedAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxBytes + 1];
        int length = 0, read;
        while (length < buffer.Length
               && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > MaxBytes) throw TooLarge();
        return buffer[..length];
    }

    private static IOException TooLarge() => new($"the key set is larger than {MaxBytes} bytes");

    private static string Decode(byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new FormatException("the key set is not UTF-8 text");
        }
    }

    private static string Describe(Exception error) =>
        error is HttpRequestException or TaskCanceledException or IOException or FormatException
            or CryptographicException or UnauthorizedAccessException
            ? error.Message
            : $"{error.GetType().Name}: {error.Message}";

    /// <summary>Lines of "ID BASE64-SUBJECT-PUBLIC-KEY-INFO"; '#' starts a comment. An empty set is an error.</summary>
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

        // An empty answer is more likely a broken source than a wish to revoke every key.
        if (keys.Count == 0) throw new FormatException("the key set has no keys");
        return keys.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<byte[]>)kv.Value);
    }
}
