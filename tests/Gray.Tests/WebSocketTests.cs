// Agents over a WebSocket on the control plane's port (ws:// and wss://): control and data connections
// alike, the same TLS and proofs inside, the control port's deadlines and budgets, and through an HTTP
// proxy that allows CONNECT to the web port only.
using System.Net;
using System.Security.Cryptography;
using Gray.Cli;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class WebSocketTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task An_agent_by_WebSocket_serves_clients_with_half_close_and_never_touches_the_control_port(
        bool tls, bool mux)
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpTls = tls, TimeProvider.System);
        var server = relay.AddServer("web");
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 3, mux: mux, webSocket: relay.WebSocketUrl);
        Assert.StartsWith(tls ? "wss://" : "ws://", relay.WebSocketUrl.ToString());

        for (int i = 0; i < 5; i++) await AssertHalfClosedEchoAsync(server.ClientPort, 256 * 1024);
        Assert.Equal(0, EstablishedTo(relay.ControlPort)); // everything came through the web port
    }

    [Fact]
    public async Task A_large_stream_with_half_close_arrives_whole_over_wss()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpTls = true, TimeProvider.System);
        var server = relay.AddServer("bulk");
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, webSocket: relay.WebSocketUrl);
        await AssertHalfClosedEchoAsync(server.ClientPort, 32 * 1024 * 1024);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_service_that_half_closes_first_still_gets_every_byte_the_client_sends_after(bool mux)
    {
        await using var service = new ClosingFirstService();
        service.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpTls = true, TimeProvider.System);
        var server = relay.AddServer("closing");
        await relay.StartAgentAsync(server, service.EndPoint, pool: 2, mux: mux, webSocket: relay.WebSocketUrl);

        using var client = await Tcp.ConnectAsync(server.ClientPort);
        Assert.Equal("goodbye"u8.ToArray(), await Tcp.ReadToEndAsync(client)); // the service's FIN came through
        byte[] after = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        await client.SendAsync(after);
        client.Shutdown(System.Net.Sockets.SocketShutdown.Send); // the last frames end the session at once
        var received = await service.ReceivedAfterFin.Task.WaitAsync(Tcp.Deadline);
        Assert.Equal(SHA256.HashData(after), SHA256.HashData(received));
    }

    [Fact]
    public async Task WebSocket_agents_are_not_held_to_the_http_budget_of_one_address()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("many");
        int pool = Gray.Relay.ControlPlane.HttpControlPlane.MaxConnectionsPerAddress + 8;
        await relay.StartAgentAsync(server, echo.EndPoint, pool: pool, webSocket: relay.WebSocketUrl);
        using var api = relay.Api();
        Assert.True((await api.GetAsync("/api/v1/relay")).IsSuccessStatusCode, "the API is still served");
    }

    [Fact]
    public async Task A_silent_WebSocket_is_closed_by_the_handshake_deadline()
    {
        await using var relay = await InProcessRelay.StartAsync();
        using var webSocket = new System.Net.WebSockets.ClientWebSocket();
        await webSocket.ConnectAsync(relay.WebSocketUrl, CancellationToken.None);
        var receiving = webSocket.ReceiveAsync(new byte[16], CancellationToken.None);
        var waited = TimeSpan.Zero;
        for (int i = 0; i < 60 && !receiving.IsCompleted; i++)
        {
            await Task.WhenAny(receiving, Task.Delay(50));
            if (receiving.IsCompleted) break;
            relay.Time.Advance(TimeSpan.FromSeconds(1)); // towards the relay's TLS handshake deadline
            waited += TimeSpan.FromSeconds(1);
        }

        await Task.WhenAny(receiving, Task.Delay(Tcp.Deadline));
        Assert.True(receiving.IsCompleted, "the silent WebSocket was kept");
        Assert.InRange(waited, relay.Options.HandshakeTimeout, relay.Options.HandshakeTimeout * 2);
    }

    [Fact]
    public async Task A_request_without_upgrade_gets_426_and_http_agents_off_serves_none()
    {
        await using (var relay = await InProcessRelay.StartAsync())
        {
            using var api = relay.Api(token: "");
            var response = await api.GetAsync("/gray");
            Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        }

        await using (var relay = await InProcessRelay.StartAsync(o => o.HttpAgents = false))
        {
            using var api = relay.Api(token: "");
            Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/gray")).StatusCode);
        }
    }

    [Fact]
    public async Task An_agent_behind_a_proxy_that_allows_only_the_web_port_serves_by_wss_with_a_pooled_half_close()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpTls = true, TimeProvider.System);
        await using var proxy = await TinyProxy.StartAsync(relay.WebSocketUrl.Port);
        var server = relay.AddServer("office");
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 2, webSocket: relay.WebSocketUrl,
            proxy: Gray.Net.HttpConnectProxy.Parse(proxy.Url));
        Assert.False(relay.Context.Manager.Find("office")!.Mux); // a WebSocket's close frame passes the proxy
        for (int i = 0; i < 4; i++) await AssertHalfClosedEchoAsync(server.ClientPort, 64 * 1024);
    }

    [Fact]
    public void The_relay_address_takes_tls_ws_and_wss_forms_and_names_what_is_wrong()
    {
        Assert.Null(RelayAddress.Parse("relay.example.org:44555", "--relay").WebSocket);
        Assert.Equal(44555, RelayAddress.Parse("tls://relay.example.org:44555", "--relay").EndPoint.Port);
        var wss = RelayAddress.Parse("wss://relay.example.org/gray", "--relay");
        Assert.Equal(("relay.example.org", 443), (wss.EndPoint.Host, wss.EndPoint.Port));
        Assert.Equal(8080, RelayAddress.Parse("ws://[::1]:8080/gray", "--relay").EndPoint.Port);
        Assert.Equal("::1", RelayAddress.Parse("ws://[::1]:8080/gray", "--relay").EndPoint.Host);
        Assert.Contains("socks5://",
            Assert.Throws<Gray.Hosting.ConfigException>(() => RelayAddress.Parse("socks5://x:1", "--relay")).Message);
        Assert.Contains("--relay: 'wss://relay?x=1' is not a wss:// URL",
            Assert.Throws<Gray.Hosting.ConfigException>(() => RelayAddress.Parse("wss://relay?x=1", "--relay"))
                .Message);
        Assert.Contains("plain data", Assert.Throws<Gray.Hosting.ConfigException>(
            () => RelayAddress.CheckPlainData(wss.WebSocket, plainData: true, "--plain-data")).Message);
    }

    private static async Task AssertHalfClosedEchoAsync(int clientPort, int bytes)
    {
        using var client = await Tcp.ConnectAsync(clientPort);
        byte[] sent = RandomNumberGenerator.GetBytes(bytes);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(sent);
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        });
        byte[] received = await Tcp.ReadToEndAsync(client);
        await sending;
        Assert.Equal(SHA256.HashData(sent), SHA256.HashData(received));
    }

    private static int EstablishedTo(int port) =>
        File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => int.Parse(f[1].Split(':')[1], System.Globalization.NumberStyles.HexNumber) == port
                && f[3] == "01");
}
