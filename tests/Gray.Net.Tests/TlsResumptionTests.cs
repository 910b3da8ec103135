// TLS session resumption for pinned clients: it happens, also by IP address; and a server that changed its
// certificate shows a pinned client the one it pinned, for its last few certificates.
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Authentication;

namespace Gray.Net.Tests;

public class TlsResumptionTests
{
    [Fact]
    public async Task Pinned_clients_resume_sessions_also_when_the_server_is_an_IP_address()
    {
        await using var server = new TlsEchoServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate });
        server.Start();
        var tls = TlsClientOptions.Pinned(
            Certificates.Sha256Fingerprint(Loopback.Certificate), "127.0.0.1", server.EndPoint.Port);

        Assert.False(await HandshakeAsync(server, tls)); // nothing to resume yet
        Assert.True(await HandshakeAsync(server, tls));
        Assert.True(await HandshakeAsync(server, tls));
    }

    [Fact]
    public async Task After_a_new_certificate_a_client_pinned_to_the_old_one_still_gets_it_and_others_get_the_new()
    {
        await using var server = new TlsEchoServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate });
        server.Start();
        string pinned = Certificates.Sha256Fingerprint(Loopback.Certificate);
        var tls = TlsClientOptions.Pinned(pinned, "127.0.0.1", server.EndPoint.Port);
        await HandshakeAsync(server, tls);
        Assert.True(await HandshakeAsync(server, tls));

        using var other = Certificates.CreateSelfSigned("localhost");
        server.UpdateCertificate(other);
        // The old pin is named in the client's SNI: the server shows it the old certificate, which it pinned.
        Assert.Equal(pinned, await PresentedAsync(server, tls));

        // A client pinned to the new certificate gets it in a full handshake, then resumes with the new context.
        var renewed = TlsClientOptions.Pinned(Certificates.Sha256Fingerprint(other), "127.0.0.1", server.EndPoint.Port);
        Assert.Equal(Certificates.Sha256Fingerprint(other), await PresentedAsync(server, renewed));
        await HandshakeAsync(server, renewed); // reads the new context's tickets
        Assert.True(await HandshakeAsync(server, renewed));
        // Anyone else gets the new one.
        var anyone = new TlsClientOptions
        {
            TargetHost = "localhost", ServerCertificateValidation = (_, _, _, _) => true,
        };
        Assert.Equal(Certificates.Sha256Fingerprint(other), await PresentedAsync(server, anyone));
    }

    [Fact]
    public async Task Only_the_last_few_certificates_are_kept_and_a_client_pinned_to_an_older_one_is_refused()
    {
        await using var server = new TlsEchoServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate });
        server.Start();
        // No handshake before: a ticket of the first context could still resume (the process had that key).
        var tls = TlsClientOptions.Pinned(
            Certificates.Sha256Fingerprint(Loopback.Certificate), "127.0.0.1", server.EndPoint.Port);
        var newer = Enumerable.Range(0, TlsServer.PreviousCertificates + 1).Select(_ =>
            Certificates.CreateSelfSigned("localhost")).ToList();
        foreach (var certificate in newer) server.UpdateCertificate(certificate);
        await AssertRefusedAsync(server, tls); // the first certificate is no longer held
        foreach (var certificate in newer) certificate.Dispose();
    }

    [Fact]
    public async Task The_pin_still_refuses_a_wrong_certificate_with_the_cheap_chain_policy()
    {
        await using var server = new TlsEchoServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate });
        server.Start();
        using var other = Certificates.CreateSelfSigned("localhost");
        var client = new TlsClient(server.EndPoint,
            TlsClientOptions.Pinned(Certificates.Sha256Fingerprint(other), "127.0.0.1", server.EndPoint.Port));
        await Assert.ThrowsAsync<AuthenticationException>(() => client.ConnectAsync());
        Assert.False(client.IsConnected);
    }

    private static async Task AssertRefusedAsync(TlsEchoServer server, TlsClientOptions tls)
    {
        var refused = new TlsClient(server.EndPoint, tls);
        await Assert.ThrowsAsync<AuthenticationException>(() => refused.ConnectAsync());
        Assert.False(refused.IsConnected);
    }

    /// <summary>The fingerprint of the certificate the server presents to a client with
    /// <paramref name="tls"/>.</summary>
    private static async Task<string> PresentedAsync(TlsEchoServer server, TlsClientOptions tls)
    {
        var client = new TlsClient(server.EndPoint, tls);
        await client.ConnectAsync();
        string fingerprint = Certificates.Sha256Fingerprint(client.SslStream.RemoteCertificate!);
        await client.DisconnectAsync();
        return fingerprint;
    }

    /// <summary>Connects, echoes a byte (by then the client has read the server's tickets), disconnects; true if
    /// resumed.</summary>
    private static async Task<bool> HandshakeAsync(TlsEchoServer server, TlsClientOptions tls)
    {
        var received = new ReceivedBytes();
        var client = new CollectingTlsClient(server.EndPoint, tls, received);
        await client.ConnectAsync();
        bool resumed = SessionReused.Of(client.SslStream);
        await client.SendAsync("x"u8.ToArray());
        await received.TakeAsync(1);
        await client.DisconnectAsync();
        return resumed;
    }
}

/// <summary>Asks OpenSSL whether an SslStream's handshake resumed a session (Linux, .NET 8 to 10 internals).</summary>
internal static partial class SessionReused
{
    private static readonly FieldInfo Context = typeof(SslStream)
        .GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("SslStream has no _securityContext field on this runtime");

    public static bool Of(SslStream ssl)
    {
        var handle = (SafeHandle)Context.GetValue(ssl)!;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return SslSessionReused(handle.DangerousGetHandle()) == 1;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [LibraryImport("libssl.so.3", EntryPoint = "SSL_session_reused")]
    private static partial int SslSessionReused(nint ssl);
}
