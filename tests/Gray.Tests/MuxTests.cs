// Multiplexed data connections (`gray agent --mux`) end to end, relay and agents in this process over
// loopback; assertions on the relay's state, not its log. TunnelContract runs the tunnel's basic tests
// over them too (MuxTunnelTests).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class MuxTests
{
    [Fact]
    public async Task Forty_clients_share_the_two_multiplexed_data_connections()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2, mux: true);
        var server = tunnel.Server;
        await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 2, "two data connections");

        var clients = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Tcp.ConnectAsync(server.ClientPort)));
        try
        {
            await Task.WhenAll(clients.Select(async client =>
            {
                byte[] message = RandomNumberGenerator.GetBytes(1000);
                await client.SendAsync(message);
                Assert.Equal(message, await Tcp.ReadExactlyAsync(client, message.Length));
            }));
            Assert.Equal(2, DataConnections(tunnel.Relay)); // not one per client
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Fact]
    public async Task A_client_that_stops_reading_does_not_stall_the_others_on_its_data_connection()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 1, mux: true);
        var server = tunnel.Server;

        byte[] flood = RandomNumberGenerator.GetBytes(64 * 1024 * 1024);
        using var stalled = new Socket(
            AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
        await stalled.ConnectAsync(IPAddress.Loopback, server.ClientPort);
        var flooding = Task.Run(async () => await stalled.SendAsync(flood));

        for (int i = 0; i < 20; i++) await AgentTests.AssertEchoAsync(server.ClientPort);
        Assert.False(flooding.IsCompleted, "the flood should still be waiting for the stalled client to read");
        Assert.Equal(1, DataConnections(tunnel.Relay));

        byte[] echoed = await Tcp.ReadExactlyAsync(stalled, flood.Length);
        await flooding.WaitAsync(Tcp.Deadline);
        Assert.Equal(SHA256.HashData(flood), SHA256.HashData(echoed));
    }

    [Fact]
    public async Task A_refused_target_closes_its_client_and_keeps_the_data_connection()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("refused");
        await relay.StartAgentAsync(server, new IPEndPoint(IPAddress.Loopback, Ports.Free()), pool: 1, mux: true);
        await Wait.UntilAsync(() => DataConnections(relay) == 1, "the data connection");
        for (int i = 0; i < 3; i++)
        {
            using var client = await Tcp.ConnectAsync(server.ClientPort);
            await client.SendAsync(new byte[10]);
            Assert.True(await Tcp.IsClosedByPeerAsync(client));
        }

        Assert.Equal(1, DataConnections(relay));
    }

    [Fact]
    public async Task An_idle_channel_is_closed_after_the_relays_idle_timeout_and_its_data_connection_stays()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(
            o => o.DefaultRules = o.DefaultRules with { PairIdleTimeout = TimeSpan.FromSeconds(1) }, mux: true);
        await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 8, "the pool's eight data connections");
        var tunnelOfServer = await tunnel.Relay.TunnelAsync(tunnel.Server.Id);
        await Tcp.AssertClosedAfterOneSecondIdleAsync(tunnel.Server.ClientPort);
        // The pool never lost a connection (a replaced one would have emptied its slot); the count of
        // established sockets on the port may briefly include another test's client that reused the number.
        Assert.Equal(0, tunnelOfServer.PoolConnectionsEnded);
        await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 8, "eight data connections, still");
        await tunnel.AssertHealthyAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_replaced_agent_lets_its_running_pair_finish_cleanly_then_exits(bool mux)
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2, mux: mux);
        var (server, first) = (tunnel.Server, tunnel.Agent);
        var replaced = await tunnel.Relay.TunnelAsync(server.Id);
        using var running = await Tcp.ConnectAsync(server.ClientPort);
        await running.SendAsync("a"u8.ToArray());
        await Tcp.ReadExactlyAsync(running, 1);

        await tunnel.Relay.StartAgentAsync(server, tunnel.Echo.EndPoint, pool: 2, mux: mux,
            waitUntilServing: false); // takes over the ID
        await Wait.UntilAsync(() => tunnel.Relay.Context.Manager.Find(server.Id) is { } newer && newer != replaced
            && newer.ReadyCount >= (mux ? 1 : 2), "the new agent's tunnel");
        Assert.False(first.Running.IsCompleted, "the old agent left before its pair ended");
        byte[] tail = RandomNumberGenerator.GetBytes(256 * 1024);
        await running.SendAsync(tail); // the running pair still carries bytes both ways
        Assert.Equal(tail, await Tcp.ReadExactlyAsync(running, tail.Length));
        running.Shutdown(SocketShutdown.Send);
        Assert.Empty(await Tcp.ReadToEndAsync(running)); // a clean end of stream, not a reset
        Assert.Equal(1, await first.Running.WaitAsync(Tcp.Deadline));
        await AgentTests.AssertEchoAsync(server.ClientPort); // the new agent serves
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Refills_under_load_never_grow_the_pool_past_its_size(bool mux)
    {
        // Housekeeping tops the pool up every 25 ms, and every pairing tops it up too: a top-up between
        // an OTP's redemption and its connection reaching the pool must not ask for one more.
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(o =>
        {
            o.PingInterval = TimeSpan.FromMilliseconds(50);
            o.PingTimeout = TimeSpan.FromSeconds(30);
        }, pool: 8, mux: mux);
        var server = tunnel.Server;
        await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 8, "the pool of eight");

        await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            for (int i = 0; i < 20; i++) await AgentTests.AssertEchoAsync(server.ClientPort);
        }));

        await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 8, "the pool back at eight, no more");
        Assert.Equal(8, (await tunnel.Relay.TunnelAsync(server.Id)).ReadyCount);
    }

    [Fact]
    public async Task A_relay_with_allow_mux_false_grants_pooled_data_connections_and_the_agent_warns_and_uses_them()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(o => o.AllowMux = false, pool: 2, mux: true);
        var server = tunnel.Server;
        Assert.False((await tunnel.Relay.TunnelAsync(server.Id)).Mux); // asked for, not granted

        // Pooled: each open client holds a data connection of its own, and the pool refills behind it.
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Tcp.ConnectAsync(server.ClientPort)));
        try
        {
            foreach (var client in clients)
            {
                await client.SendAsync("ping"u8.ToArray());
                Assert.Equal("ping"u8.ToArray(), await Tcp.ReadExactlyAsync(client, 4));
            }

            await Wait.UntilAsync(() => DataConnections(tunnel.Relay) == 6, "four pairs and a pool of two");
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }

        // A multiplexed preface is refused, as from an agent that never asked.
        await AssertMuxNotGrantedAsync(tunnel.Relay, tunnel.Relay.AddServer("mux-forbidden"), askForMux: true);
    }

    [Fact]
    public async Task The_relay_refuses_a_multiplexed_data_connection_the_agent_did_not_ask_for()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        await AssertMuxNotGrantedAsync(relay, relay.AddServer("unasked"), askForMux: false);
    }

    // A fake agent's Welcome grants no multiplexing, and its multiplexed data preface is closed.
    private static async Task AssertMuxNotGrantedAsync(InProcessRelay relay, AddedServer server, bool askForMux)
    {
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1, mux: askForMux);
        Assert.False(agent.Welcome.Mux);
        await using var data = await agent.OpenDataAsync(agent.Open(await agent.NextOtpAsync(), mux: true));
        Assert.True(await FakeAgent.IsClosedAsync(data, Tcp.Deadline));
    }

    [Fact]
    public async Task The_relay_opens_a_channel_per_client_and_closes_a_data_connection_that_breaks_the_protocol()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("breaker");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1, mux: true);
        Assert.True(agent.Welcome.Mux);
        await using var data = await agent.OpenDataAsync(agent.Open(await agent.NextOtpAsync(), mux: true));

        using var client = await Tcp.ConnectAsync(server.ClientPort);
        byte[] open = new byte[8 + Wire.StartFrameBytes];
        await data.ReadExactlyAsync(open).AsTask().WaitAsync(Tcp.Deadline);
        Assert.Equal(new byte[] { 1, 0, 0, Wire.StartFrameBytes, 0, 0, 0, 1 }, open[..8]); // Open, channel 1
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, Start.Decode(open.AsSpan(8)).Client.Port);

        await data.WriteAsync(new byte[] { 0x7f, 0, 0, 0, 0, 0, 0, 1 }); // no such frame type
        Assert.True(await FakeAgent.IsClosedAsync(data, Tcp.Deadline));
        Assert.True(await Tcp.IsClosedByPeerAsync(client));
    }

    /// <summary>The relay's data connections, counted by the kernel: established connections to its control
    /// port (where they come by default) less one control connection per agent.</summary>
    private static int DataConnections(InProcessRelay relay) =>
        EstablishedTo(relay.ControlPort) - relay.Context.Manager.All.Count;

    /// <summary>Established TCP connections whose local port is <paramref name="port"/> (the relay's side), from
    /// /proc/net/tcp.</summary>
    private static int EstablishedTo(int port)
    {
        const string Established = "01";
        return File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => int.Parse(f[1].Split(':')[1], NumberStyles.HexNumber) == port && f[3] == Established);
    }
}
