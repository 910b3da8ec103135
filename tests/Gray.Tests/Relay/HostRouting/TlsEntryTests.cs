// The TLS entry point (https_port) with real TLS services behind agents: each reached by its name on
// one port, its own certificate verified by the client (passthrough), and every way in refused clearly.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Gray.Net;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.HostRouting;

public class TlsEntryTests
{
    [Fact]
    public async Task Services_share_the_tls_port_each_reached_by_its_name_with_its_own_certificate()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpsPort = 0, TimeProvider.System);
        await using var app = new TlsEchoService("app.example.org");
        await using var api = new TlsEchoService("api.example.org");
        await using var dev = new TlsEchoService("dev.example.org");
        foreach (var service in new[] { app, api, dev }) service.Start();
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), Local(app), pool: 2);
        await relay.StartAgentAsync(relay.AddServer("api", hosts: ["api.example.org"]), Local(api), mux: true);
        await relay.StartAgentAsync(relay.AddServer("dev", hosts: ["*.dev.example.org"]), Local(dev), mux: true);

        foreach (var (name, service) in new[]
                 {
                     ("app.example.org", app), ("API.example.org", api), ("feature-7.dev.example.org", dev),
                     ("app.example.org", app),
                 })
        {
            await using var tls = await ConnectTlsAsync(relay.TlsEntryPort, name, service.Certificate);
            byte[] message = RandomNumberGenerator.GetBytes(100_000);
            await tls.WriteAsync(message);
            byte[] echoed = new byte[message.Length];
            await tls.ReadExactlyAsync(echoed).AsTask().WaitAsync(Tcp.Deadline);
            Assert.Equal(message, echoed);
        }

        // The routed clients count as the server's: listed while connected.
        await using var held = await ConnectTlsAsync(relay.TlsEntryPort, "app.example.org", app.Certificate);
        await held.WriteAsync(new byte[10]);
        await held.ReadExactlyAsync(new byte[10]).AsTask().WaitAsync(Tcp.Deadline);
        var tunnel = await relay.TunnelAsync("app");
        Assert.Single(tunnel.Clients());
        Assert.True(tunnel.BytesIn > 200_000);
    }

    [Fact]
    public async Task A_hello_trickled_one_byte_per_segment_is_routed()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpsPort = 0, TimeProvider.System);
        await using var app = new TlsEchoService("app.example.org");
        app.Start();
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), Local(app), mux: true);

        byte[] hello = await ClientHelloTests.CaptureHelloAsync("app.example.org");
        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort);
        client.NoDelay = true;
        foreach (byte b in hello)
        {
            await client.SendAsync(new[] { b });
            await Task.Yield();
        }

        // The service answers with its ServerHello: a handshake record, through the tunnel.
        byte[] answer = await Tcp.ReadExactlyAsync(client, 5);
        Assert.Equal(22, answer[0]);
    }

    [Theory]
    [InlineData("nobody.example.org", 112)] // unrecognized_name
    [InlineData("127.0.0.1", 112)] // no name at all
    [InlineData("offline.example.org", 80)] // internal_error: its agent is not connected
    [InlineData("denied.example.org", 49)] // access_denied: the server's rules refuse this address
    public async Task A_client_the_relay_cannot_route_gets_a_tls_alert_and_the_close(string name, byte alert)
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpsPort = 0;
            o.Servers["denied"] = o.DefaultRules with { ClientDeny = ["127.0.0.0/8"] };
        }, TimeProvider.System);
        await using var echo = new TlsEchoService("denied.example.org");
        echo.Start();
        relay.AddServer("offline", hosts: ["offline.example.org"]);
        await relay.StartAgentAsync(relay.AddServer("denied", hosts: ["denied.example.org"]), Local(echo));

        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort);
        await client.SendAsync(await ClientHelloTests.CaptureHelloAsync(name));
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, alert }, await Tcp.ReadExactlyAsync(client, 7));
        Assert.True(await Tcp.IsClosedByPeerAsync(client));

        // A TLS client sees the refusal as a failed handshake, not a hang.
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectTlsAsync(relay.TlsEntryPort, name, echo.Certificate));
    }

    [Fact]
    public async Task Routed_clients_count_against_the_servers_per_address_budget_and_a_drain()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpsPort = 0;
            o.MaxClientConnectionsPerIp = 1;
        }, TimeProvider.System);
        await using var app = new TlsEchoService("app.example.org");
        app.Start();
        await relay.StartAgentAsync(relay.AddServer("app", hosts: ["app.example.org"]), Local(app), mux: true);
        byte[] hello = await ClientHelloTests.CaptureHelloAsync("app.example.org");

        using var first = await Tcp.ConnectAsync(relay.TlsEntryPort, from: IPAddress.Parse("127.0.0.5"));
        await first.SendAsync(hello);
        Assert.Equal(22, (await Tcp.ReadExactlyAsync(first, 1))[0]); // the service's ServerHello
        using var second = await Tcp.ConnectAsync(relay.TlsEntryPort, from: IPAddress.Parse("127.0.0.5"));
        await second.SendAsync(hello);
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, 80 }, await Tcp.ReadExactlyAsync(second, 7)); // over budget
        using var other = await Tcp.ConnectAsync(relay.TlsEntryPort, from: IPAddress.Parse("127.0.0.6"));
        await other.SendAsync(hello);
        Assert.Equal(22, (await Tcp.ReadExactlyAsync(other, 1))[0]); // another address has its own

        relay.Context.Drain("app");
        using var drained = await Tcp.ConnectAsync(relay.TlsEntryPort, from: IPAddress.Parse("127.0.0.7"));
        await drained.SendAsync(hello);
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, 49 }, await Tcp.ReadExactlyAsync(drained, 7));
        Assert.Equal(2, (await relay.TunnelAsync("app")).Clients().Count); // the running pairs go on
    }

    [Fact]
    public async Task A_routed_pair_idle_for_the_servers_timeout_is_closed()
    {
        var idle = TimeSpan.FromSeconds(60);
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpsPort = 0;
            o.PingTimeout = o.PingInterval = TimeSpan.FromHours(10);
            o.Servers["web"] = o.DefaultRules with { PairIdleTimeout = idle };
        });
        var server = relay.AddServer("web", hosts: ["web.example.org"]);
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        var tunnel = await relay.TunnelAsync("web");
        await using var data = await agent.OpenDataAsync(agent.Open(await agent.NextOtpAsync()));
        await Wait.UntilAsync(() => tunnel.ReadyCount == 1, "the data connection in the pool");

        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort);
        await client.SendAsync(await ClientHelloTests.CaptureHelloAsync("web.example.org"));
        Assert.True(await data.ReadAsync(new byte[64]) > 0); // the start frame: the pair runs
        await Wait.UntilAsync(() => tunnel.ActivePairs == 1, "the pair running");

        var step = idle / 4;
        var advanced = await relay.AdvanceUntilClosedAsync(client, step);

        Assert.InRange(advanced, idle, idle + 2 * step);
        await Wait.UntilAsync(() => tunnel.ActivePairs == 0, "the pair ended");
    }

    [Fact]
    public async Task What_is_not_tls_is_answered_with_a_decode_error()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpsPort = 0, TimeProvider.System);
        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: app.example.org\r\n\r\n"u8.ToArray());
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, 50 }, await Tcp.ReadExactlyAsync(client, 7));
        Assert.True(await Tcp.IsClosedByPeerAsync(client));
    }

    [Fact]
    public async Task A_hello_that_never_completes_is_closed_at_the_handshake_deadline()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpsPort = 0;
            o.HandshakeTimeout = TimeSpan.FromSeconds(5);
        });
        byte[] hello = await ClientHelloTests.CaptureHelloAsync("app.example.org");
        using var client = await Tcp.ConnectAsync(relay.TlsEntryPort);
        await client.SendAsync(hello.AsMemory(0, 20)); // a slowloris: a start, then nothing
        await Wait.UntilAsync(() => relay.Context.Pending.Count == 1, "the connection pending");
        // Stepped: the session arms its deadline just after admission, so a single jump could come first.
        var advanced = await relay.AdvanceUntilClosedAsync(client, TimeSpan.FromSeconds(0.5));
        Assert.InRange(advanced, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(6)); // at the deadline, not before
        await Wait.UntilAsync(() => relay.Context.Pending.Count == 0, "the pending place given back");
    }

    private static IPEndPoint Local(TcpServer service) => service.EndPoint;

    // A TLS client that trusts exactly the service's certificate: what it reaches is the service itself.
    private static async Task<SslStream> ConnectTlsAsync(int port, string name,
        System.Security.Cryptography.X509Certificates.X509Certificate2 expected)
    {
        var socket = await Tcp.ConnectAsync(port);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true), false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = name,
                RemoteCertificateValidationCallback = Certificates.PinSha256(Certificates.Sha256Fingerprint(expected)),
            }).WaitAsync(Tcp.Deadline);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }
}
