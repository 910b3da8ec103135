using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gray.Net.Tests;

public class TlsTests
{
    [Fact]
    public async Task Tls_echo_with_a_pinned_self_signed_certificate()
    {
        var tls = new TlsServerOptions { Certificate = Loopback.Certificate };
        await using var server = new TlsEchoServer(Loopback.AnyPort, tls);
        server.Start();
        var received = new ReceivedBytes();
        var client = new CollectingTlsClient(server.EndPoint, new TlsClientOptions
        {
            ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate)),
        }, received);
        await client.ConnectAsync();
        Assert.True(client.SslStream.IsAuthenticated);
        Assert.True(client.SslStream.SslProtocol >= SslProtocols.Tls12);

        byte[] payload = RandomNumberGenerator.GetBytes(200_000);
        Assert.True(await client.SendAsync(payload));
        Assert.Equal(payload, await received.TakeAsync(payload.Length));
        await client.DisconnectAsync();
    }

    [Fact]
    public async Task A_client_refuses_a_server_whose_fingerprint_differs()
    {
        var tls = new TlsServerOptions { Certificate = Loopback.Certificate };
        await using var server = new TlsEchoServer(Loopback.AnyPort, tls);
        server.Start();
        using var other = Certificates.CreateSelfSigned("localhost");
        var client = new TlsClient(server.EndPoint, new TlsClientOptions
        {
            ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(other)),
        });
        await Assert.ThrowsAsync<AuthenticationException>(() => client.ConnectAsync());
        Assert.False(client.IsConnected);
        // Under TLS 1.3 the server may finish its side first; either way the session must end.
        await Wait.UntilAsync(() => server.SessionCount == 0, "server drops it");
    }

    [Fact]
    public async Task Client_certificates_are_validated_by_the_callback()
    {
        using var trusted = Certificates.CreateSelfSigned("trusted-client");
        using var stranger = Certificates.CreateSelfSigned("stranger");
        string trustedPrint = Certificates.Sha256Fingerprint(trusted);
        var tls = new TlsServerOptions
        {
            Certificate = Loopback.Certificate,
            ClientCertificateRequired = true,
            ClientCertificateValidation = (_, certificate, _, _) =>
                certificate is not null && Certificates.MatchesFingerprint(certificate, trustedPrint),
        };
        await using var server = new TlsEchoServer(Loopback.AnyPort, tls);
        server.Start();
        var pin = Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate));

        var received = new ReceivedBytes();
        var good = new CollectingTlsClient(server.EndPoint,
            new TlsClientOptions { ClientCertificate = trusted, ServerCertificateValidation = pin }, received);
        await good.ConnectAsync();
        await good.SendAsync("hi"u8.ToArray());
        Assert.Equal("hi"u8.ToArray(), await received.TakeAsync(2));
        var session = Assert.IsType<TlsEchoSession>(server.FindSession(Assert.Single(server.GetSessions()).Id));
        Assert.Equal(trusted.Thumbprint, new X509Certificate2(session.RemoteCertificate!).Thumbprint);

        foreach (var certificate in new[] { stranger, null })
        {
            var bad = new TlsClient(server.EndPoint,
                new TlsClientOptions { ClientCertificate = certificate, ServerCertificateValidation = pin });
            // TLS 1.3 may finish the client's side before the server's verdict arrives: then the first read fails.
            try
            {
                await bad.ConnectAsync();
                var buffer = new byte[1];
                await Assert.ThrowsAnyAsync<Exception>(async () =>
                {
                    if (await bad.SslStream.ReadAsync(buffer) == 0) throw new IOException("closed");
                });
            }
            catch (Exception error) when (error is AuthenticationException or IOException)
            {
            }
        }

        await Wait.UntilAsync(() => server.HandshakeFailures == 2, "two rejected handshakes");
        Assert.Equal(1, server.SessionCount);
        await good.DisconnectAsync();
    }

    [Fact]
    public async Task A_silent_peer_is_dropped_at_the_handshake_deadline()
    {
        var tls = new TlsServerOptions { Certificate = Loopback.Certificate };
        var options = new TcpServerOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(300) };
        await using var server = new TlsEchoServer(Loopback.AnyPort, tls, options);
        server.Start();
        using var silent = await Loopback.ConnectAsync(server.EndPoint);
        Assert.True(await Loopback.IsClosedByPeerAsync(silent));
        await Wait.UntilAsync(() => server.HandshakeFailures == 1, "counted as a failed handshake");
        await Wait.UntilAsync(() => server.SessionCount == 0, "slot freed");
    }

    [Fact]
    public async Task Tls_multicast_reaches_every_session_and_certificates_can_be_replaced()
    {
        var tls = new TlsServerOptions { Certificate = Loopback.Certificate };
        await using var server = new TlsEchoServer(Loopback.AnyPort, tls);
        server.Start();
        var clients = new List<(TlsClient Client, ReceivedBytes Received)>();
        for (int i = 0; i < 5; i++)
        {
            var received = new ReceivedBytes();
            var client = new CollectingTlsClient(server.EndPoint, new TlsClientOptions
            {
                ServerCertificateValidation =
                    Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate)),
            }, received);
            await client.ConnectAsync();
            clients.Add((client, received));
        }

        await Wait.UntilAsync(() => server.GetSessions().Count == 5, "five sessions");
        Assert.Equal(5, server.Multicast("news"u8));
        foreach (var (_, received) in clients) Assert.Equal("news"u8.ToArray(), await received.TakeAsync(4));

        using var replacement = Certificates.CreateSelfSigned("localhost");
        server.UpdateCertificate(replacement);
        var fresh = new TlsClient(server.EndPoint, new TlsClientOptions
        {
            ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(replacement)),
        });
        await fresh.ConnectAsync();
        await Wait.UntilAsync(() => server.GetSessions().Count == 6, "six sessions");
        Assert.Equal(6, server.Multicast("more"u8)); // old sessions live on with the old certificate
        await fresh.DisconnectAsync();
        foreach (var (client, _) in clients) await client.DisconnectAsync();
    }

    [Fact]
    public async Task Pem_and_pfx_certificates_load_from_files()
    {
        string dir = Directory.CreateTempSubdirectory("gray-cert").FullName;
        try
        {
            using var original = Certificates.CreateSelfSigned("files");
            string certPath = Path.Combine(dir, "cert.pem"), keyPath = Path.Combine(dir, "key.pem");
            await File.WriteAllTextAsync(certPath, original.ExportCertificatePem());
            await File.WriteAllTextAsync(keyPath, original.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            string pfxPath = Path.Combine(dir, "cert.pfx");
            await File.WriteAllBytesAsync(pfxPath, original.Export(X509ContentType.Pkcs12, "pw"));

            foreach (var loaded in new[] { Certificates.LoadPem(certPath, keyPath),
                Certificates.LoadPfx(pfxPath, "pw") })
            {
                Assert.True(loaded.HasPrivateKey);
                await using var server = new TlsEchoServer(
                    Loopback.AnyPort, new TlsServerOptions { Certificate = loaded });
                server.Start();
                var client = new TlsClient(server.EndPoint, new TlsClientOptions
                {
                    TargetHost = "files",
                    ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(original)),
                });
                await client.ConnectAsync();
                await client.DisconnectAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Fingerprints_match_in_any_common_spelling()
    {
        string hex = Certificates.Sha256Fingerprint(Loopback.Certificate);
        Assert.Matches("^[0-9a-f]{64}$", hex);
        string colons = string.Join(
            ':', Enumerable.Range(0, 32).Select(i => hex.Substring(i * 2, 2).ToUpperInvariant()));
        Assert.True(Certificates.MatchesFingerprint(Loopback.Certificate, hex));
        Assert.True(Certificates.MatchesFingerprint(Loopback.Certificate, colons));
        Assert.True(Certificates.MatchesFingerprint(Loopback.Certificate, "sha256:" + hex));
        // The last byte changed (one certificate in 256 has a fingerprint ending in 00 already).
        Assert.False(Certificates.MatchesFingerprint(Loopback.Certificate,
            hex[..^2] + (hex.EndsWith("00", StringComparison.Ordinal) ? "01" : "00")));
        Assert.False(Certificates.MatchesFingerprint(Loopback.Certificate, "not hex"));
    }
}

/// <summary>Bytes received by a client, to await in tests.</summary>
internal sealed class ReceivedBytes
{
    private readonly object _gate = new();
    private readonly List<byte> _bytes = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Count
    {
        get { lock (_gate) return _bytes.Count; }
    }

    public void Add(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            foreach (byte b in data) _bytes.Add(b);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.SetResult();
    }

    public async Task<byte[]> TakeAsync(int count)
    {
        using var cts = new CancellationTokenSource(Loopback.Deadline);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_bytes.Count >= count)
                {
                    byte[] taken = _bytes.GetRange(0, count).ToArray();
                    _bytes.RemoveRange(0, count);
                    return taken;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cts.Token);
        }
    }
}

internal sealed class CollectingTlsClient(System.Net.EndPoint server, TlsClientOptions tls, ReceivedBytes received)
    : TlsClient(server, tls)
{
    protected override void OnReceived(ReadOnlySpan<byte> data) => received.Add(data);
}

internal sealed class CollectingTcpClient(
    System.Net.EndPoint server, ReceivedBytes received, TcpClientOptions? options = null)
    : TcpClient(server, options)
{
    public int Connections;

    protected override void OnConnected() => Interlocked.Increment(ref Connections);

    protected override void OnReceived(ReadOnlySpan<byte> data) => received.Add(data);
}
