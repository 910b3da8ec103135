// Trusted keys from a URL or file, attacked as a hostile or broken key server would: no URL can vouch
// for a key it should not, nothing it serves can exhaust or crash the relay, and whatever goes wrong
// keeps the previous set, logged once per streak. Refreshes run on a clock the test drives.
using System.Security.Cryptography;
using System.Text;
using Gray.Hosting;
using Gray.Relay;
using Gray.Tests.Harness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Tests.Relay;

public class TrustedKeysTests
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);

    private readonly ECDsa _tenant = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ECDsa _attacker = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _log = new();
    private int _refreshed;

    [Fact]
    public void A_plain_http_url_needs_an_explicit_setting()
    {
        var error = Assert.Throws<ConfigException>(() =>
            new TrustedKeys("http://127.0.0.1:9/keys", Refresh, allowHttp: false, _time, _log, _ => { }));
        Assert.Contains("https://", error.Message);
        Assert.Contains("trusted_keys.allow_http", error.Message);
    }

    [Fact]
    public async Task A_redirect_to_another_server_is_not_followed_and_the_previous_set_stays()
    {
        await using var origin = new ScriptedHttpServer();
        await using var elsewhere = new ScriptedHttpServer();
        origin.Respond = Serve(KeyLine("tenant", _tenant));
        elsewhere.Respond = Serve(KeyLine("tenant", _attacker));
        await using var keys = Start(origin.Url());

        origin.Respond = (stream, ct) => ScriptedHttpServer.WriteAsync(stream, 302, "", ct,
            extraHeaders: $"Location: {elsewhere.Url()}\r\n");
        await RefreshAsync(keys);

        Assert.Equal(1, keys.Failures);
        Assert.Equal(0, elsewhere.Requests);
        Assert.True(keys.IsTrusted("tenant", _tenant.ExportSubjectPublicKeyInfo()));
        Assert.False(keys.IsTrusted("tenant", _attacker.ExportSubjectPublicKeyInfo()));
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("302"));
    }

    [Fact]
    public async Task An_endless_or_oversized_body_is_cut_at_one_MiB()
    {
        await using var server = new ScriptedHttpServer();
        server.Respond = Serve(KeyLine("tenant", _tenant));
        await using var keys = Start(server.Url());
        long sent = 0;
        server.Respond = async (stream, ct) =>
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"u8
                .ToArray(), ct);
            var chunk = new byte[64 * 1024];
            chunk.AsSpan().Fill((byte)'#'); // a comment that never ends
            for (int i = 0; i < 6400; i++) // 400 MiB, unless the relay hangs up first
            {
                await stream.WriteAsync(chunk, ct);
                Interlocked.Add(ref sent, chunk.Length);
            }
        };
        await RefreshAsync(keys);
        Assert.Equal(1, keys.Failures);
        Assert.True(Interlocked.Read(ref sent) < 64L * 1024 * 1024, $"{Interlocked.Read(ref sent)} bytes were read");

        server.Respond = (stream, ct) => stream.WriteAsync(Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nContent-Length: 400000000\r\nConnection: close\r\n\r\n"), ct).AsTask();
        await RefreshAsync(keys);
        Assert.Equal(2, keys.Failures);
        Assert.True(keys.IsTrusted("tenant", _tenant.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public async Task A_bogus_charset_bad_text_an_error_status_or_an_empty_body_keeps_the_previous_set()
    {
        await using var server = new ScriptedHttpServer();
        server.Respond = Serve(KeyLine("tenant", _tenant));
        await using var keys = Start(server.Url());
        Func<Stream, CancellationToken, Task>[] broken =
        [
            (s, ct) => ScriptedHttpServer.WriteAsync(s, 200, KeyLine("tenant", _attacker) + "x y z\n", ct,
                contentType: "text/plain; charset=bogus"),
            (s, ct) => s.WriteAsync( // not UTF-8
                (byte[])[.. "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"u8, 0xff, 0xfe, 0xfd], ct).AsTask(),
            (s, ct) => ScriptedHttpServer.WriteAsync(s, 500, KeyLine("tenant", _attacker), ct),
            (s, ct) => ScriptedHttpServer.WriteAsync(s, 200, "", ct),
            (s, ct) => ScriptedHttpServer.WriteAsync(s, 200, "# every key removed?\n", ct),
        ];
        foreach (var respond in broken)
        {
            server.Respond = respond;
            await RefreshAsync(keys);
        }

        Assert.Equal(broken.Length, keys.Failures);
        Assert.Equal(0, _refreshed); // no agent was dropped on the strength of a broken answer
        Assert.True(keys.IsTrusted("tenant", _tenant.ExportSubjectPublicKeyInfo()));
        Assert.Single(_log.Entries, e => e.Level == LogLevel.Error); // one line for the whole streak

        server.Respond = Serve(KeyLine("tenant", _attacker));
        await RefreshAsync(keys);
        Assert.Equal(1, _refreshed);
        Assert.True(keys.IsTrusted("tenant", _attacker.ExportSubjectPublicKeyInfo()));
        Assert.Contains(_log.Entries, e => e.Message.Contains("readable again"));
    }

    [Fact]
    public async Task A_file_that_became_a_directory_keeps_the_previous_set_and_the_error_repeats_only_rarely()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("gray-keys-").FullName, "trusted_keys");
        await File.WriteAllTextAsync(path, KeyLine("tenant", _tenant));
        await using var keys = Start(path);
        File.Delete(path);
        Directory.CreateDirectory(path);

        for (int i = 0; i < 10; i++) await RefreshAsync(keys);
        Assert.Equal(10, keys.Failures);
        Assert.Single(_log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("directory"));

        _time.Advance(TimeSpan.FromMinutes(5));
        await Wait.UntilAsync(() => keys.Attempts >= 11, "the refresh after five minutes");
        Assert.Equal(2, _log.Entries.Count(e => e.Level == LogLevel.Error));
        Assert.True(keys.IsTrusted("tenant", _tenant.ExportSubjectPublicKeyInfo()));
    }

    [Fact]
    public async Task Refreshes_never_overlap_however_slow_the_server()
    {
        await using var server = new ScriptedHttpServer();
        server.Respond = Serve(KeyLine("tenant", _tenant));
        await using var keys = Start(server.Url());
        // The first load's answer reached the relay; its handler may still be finishing, and would count.
        await Wait.UntilAsync(() => server.Active == 0, "the first load's handler done");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Respond = async (stream, ct) =>
        {
            await release.Task.WaitAsync(ct);
            await Serve(KeyLine("tenant", _tenant))(stream, ct);
        };

        for (int i = 0; i < 20; i++) _time.Advance(Refresh);
        await Wait.UntilAsync(() => server.Requests == 2, "the first slow refresh");
        for (int i = 0; i < 20; i++) _time.Advance(Refresh);
        release.SetResult();
        await Wait.UntilAsync(() => keys.Attempts >= 1, "the slow refresh done");
        Assert.Equal(1, server.MostConcurrent);
    }

    private TrustedKeys Start(string source) =>
        new(source, Refresh, allowHttp: true, _time, _log, _ => Interlocked.Increment(ref _refreshed));

    private async Task RefreshAsync(TrustedKeys keys)
    {
        long before = keys.Attempts;
        _time.Advance(Refresh);
        await Wait.UntilAsync(() => keys.Attempts > before, "a refresh");
    }

    private static string KeyLine(string id, ECDsa key) =>
        $"{id} {Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())}\n";

    private static Func<Stream, CancellationToken, Task> Serve(string body) =>
        (stream, ct) => ScriptedHttpServer.WriteAsync(stream, 200, body, ct);
}
