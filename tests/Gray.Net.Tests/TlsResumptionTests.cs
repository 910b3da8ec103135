// TLS session resumption for pinned clients: it happens, also by IP address, and never outlives the certificate.
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
    public async Task A_new_certificate_ends_resumption_and_the_pin_refuses_it()
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
        // The client holds a ticket of the old certificate; the server cannot use it, sends the new
        // certificate in a full handshake, and the pin refuses that.
        await AssertRefusedAsync(server, tls);

        // A client pinned to the new certificate gets a full handshake, then resumes with the new context.
        var renewed = TlsClientOptions.Pinned(Certificates.Sha256Fingerprint(other), "127.0.0.1", server.EndPoint.Port);
        Assert.False(await HandshakeAsync(server, renewed));
        Assert.True(await HandshakeAsync(server, renewed));
    }

    [Fact]
    public async Task A_ticket_from_another_certificate_never_resumes()
    {
        // Rotate A -> B -> A: the client pinned to B holds B's ticket when A is back, and must be refused.
        // (A new context for the same certificate may resume in .NET 10: same certificate, same pin verdict.
        // A new process never does: ticket keys are random per process.)
        await using var server = new TlsEchoServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate });
        server.Start();
        using var other = Certificates.CreateSelfSigned("localhost");
        server.UpdateCertificate(other);
        var tls = TlsClientOptions.Pinned(Certificates.Sha256Fingerprint(other), "127.0.0.1", server.EndPoint.Port);
        await HandshakeAsync(server, tls);
        Assert.True(await HandshakeAsync(server, tls));

        server.UpdateCertificate(Loopback.Certificate);
        await AssertRefusedAsync(server, tls);
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
