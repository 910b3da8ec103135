// UDP tunnels: each client address a flow, carried as a datagram channel on the agent's multiplexed data
// connections, to a socket of the flow's own at the agent. Sizes up to 65,507 bytes arrive whole, 200
// client addresses get their own replies, idle flows end, a flood past a client's bandwidth drops and
// counts without stopping the others, and Debian's dnsmasq answers dig through the tunnel. (The
// channel's own bound is tested in Gray.Net's MuxDatagramTests.)
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gray.Protocol;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class UdpTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Datagrams_of_1_1400_9000_and_65507_bytes_arrive_whole_and_come_back(bool separate)
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(
            o => o.DefaultRules = o.DefaultRules with { SeparateDataPort = separate }, TimeProvider.System);
        var server = relay.AddServer("udp", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, udp: true);

        using var client = Udp.Bind();
        foreach (int size in new[] { 1, 1400, 9000, 65507 })
        {
            byte[] datagram = RandomNumberGenerator.GetBytes(size);
            Assert.Equal(datagram, await Udp.ExchangeAsync(client, server.ClientPort, datagram));
        }

        Assert.Equal(1, echo.Sources); // one client: one flow, one socket at the agent
        using var api = relay.Api();
        Assert.Contains("\"type\":\"udp\"", await api.GetStringAsync("/api/v1/servers/udp"));
        Assert.True(TestRelay.IsFree(server.ClientPort), "a UDP server's client port was bound for TCP too");
    }

    [Fact]
    public async Task Two_hundred_client_addresses_each_get_their_own_replies_from_sockets_of_their_own()
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("many", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 2, udp: true);

        var clients = Enumerable.Range(2, 200).Select(i => Udp.Bind(IPAddress.Parse($"127.0.0.{i}"))).ToList();
        try
        {
            var replies = await Task.WhenAll(clients.Select((c, i) =>
                Udp.ExchangeAsync(c, server.ClientPort, Encoding.ASCII.GetBytes($"client {i}"))));
            for (int i = 0; i < clients.Count; i++) Assert.Equal($"client {i}", Encoding.ASCII.GetString(replies[i]!));
            Assert.Equal(200, echo.Sources);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public async Task A_flow_idle_past_its_timeout_ends_and_deny_rules_and_drain_refuse_new_flows()
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.UdpIdleTimeout = TimeSpan.FromSeconds(60);
            o.PingInterval = o.PingTimeout = TimeSpan.FromHours(1); // the clock jumps: no ping timeouts
            o.DefaultRules = o.DefaultRules with { ClientDeny = ["127.0.0.66/32"] };
        });
        var server = relay.AddServer("idle", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, udp: true);
        var tunnel = await relay.TunnelAsync("idle");

        using var client = Udp.Bind();
        Assert.NotNull(await Udp.ExchangeAsync(client, server.ClientPort, [1, 2, 3]));
        Assert.Equal(1, tunnel.Udp!.FlowCount);
        relay.Advance(TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(15));
        Assert.Equal(1, tunnel.Udp.FlowCount); // not before its timeout
        for (int i = 0; i < 40 && tunnel.Udp.FlowCount > 0; i++)
        {
            relay.Time.Advance(TimeSpan.FromSeconds(15));
            await Task.Delay(50);
        }

        Assert.Equal(0, tunnel.Udp.FlowCount);
        Assert.NotNull(await Udp.ExchangeAsync(client, server.ClientPort, [4])); // a new flow

        using var denied = Udp.Bind(IPAddress.Parse("127.0.0.66"));
        Assert.Null(await Udp.ExchangeAsync(denied, server.ClientPort, [5], TimeSpan.FromMilliseconds(500)));
        Assert.Equal(1, tunnel.Udp.Refused);

        relay.Context.Drain("idle");
        using var late = Udp.Bind(IPAddress.Parse("127.0.0.9"));
        Assert.Null(await Udp.ExchangeAsync(late, server.ClientPort, [6], TimeSpan.FromMilliseconds(500)));
        Assert.Equal(2, tunnel.Udp.Refused);
    }

    [Fact]
    public async Task A_flood_past_a_clients_bandwidth_drops_and_counts_while_other_flows_keep_working()
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.Servers["flood"] = new ServerRules
        {
            Bandwidth = new Bandwidth(PerClientIn: 256 * 1024),
        }, TimeProvider.System);
        var server = relay.AddServer("flood", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, udp: true);
        var tunnel = await relay.TunnelAsync("flood");

        // 8 MiB at once from one address, 32 times its rate: what the kernel lets through to the relay is
        // mostly dropped there, and counted.
        using var flooder = Udp.Bind(IPAddress.Parse("127.0.0.2"));
        var target = new IPEndPoint(IPAddress.Loopback, server.ClientPort);
        byte[] big = new byte[8 * 1024];
        for (int i = 0; i < 1024; i++) flooder.SendTo(big, target);
        await Wait.UntilAsync(() => tunnel.Udp!.Dropped > 64, "the flood's drops counted");

        using var other = Udp.Bind(IPAddress.Parse("127.0.0.3"));
        // UDP may lose a datagram (the kernel's buffer may still hold the flood): asked again until answered.
        await Wait.UntilAsync(async () => await Udp.ExchangeAsync(other, server.ClientPort, [7],
            TimeSpan.FromMilliseconds(500)) is [7], "another flow's echo after the flood");
        using var api = relay.Api();
        Assert.Matches("\"dropped\":[1-9]", await api.GetStringAsync("/api/v1/servers/flood"));
        string metrics = await api.GetStringAsync("/metrics");
        Assert.Matches(
            "gray_relay_udp_datagrams_dropped_total\\{[^}]*reason=\"no_room_or_limit\"[^}]*\\} [1-9]", metrics);
        Assert.Contains("gray_relay_udp_flows{", metrics);
    }

    [Fact]
    public async Task Flows_count_against_the_per_address_budget_of_clients()
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.MaxClientConnectionsPerIp = 2,
            TimeProvider.System);
        var server = relay.AddServer("budget", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, udp: true);
        var tunnel = await relay.TunnelAsync("budget");

        var sockets = Enumerable.Range(0, 3).Select(_ => Udp.Bind(IPAddress.Parse("127.0.0.4"))).ToList();
        try
        {
            Assert.NotNull(await Udp.ExchangeAsync(sockets[0], server.ClientPort, [1]));
            Assert.NotNull(await Udp.ExchangeAsync(sockets[1], server.ClientPort, [2]));
            // A third source port of the same address is a third flow: past the budget of two.
            Assert.Null(await Udp.ExchangeAsync(sockets[2], server.ClientPort, [3], TimeSpan.FromMilliseconds(500)));
            Assert.Equal(1, tunnel.Udp!.Refused);
            using var other = Udp.Bind(IPAddress.Parse("127.0.0.5"));
            Assert.NotNull(await Udp.ExchangeAsync(other, server.ClientPort, [4])); // another address has its own
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    [Fact]
    public void A_declared_server_takes_its_type_from_the_relay_file_and_a_wrong_one_names_its_line()
    {
        string dir = Directory.CreateTempSubdirectory("gray-udp-config-").FullName;
        string file = Path.Combine(dir, "relay.yaml");
        string secret = new('s', 40);
        File.WriteAllText(file, $"servers:\n  dns:\n    secret: {secret}\n    type: tcp+udp\nudp_idle_timeout: 2m\n");
        var options = new RelayOptions();
        Gray.Cli.RelayConfigFile.Apply(file, options);
        Assert.Equal(ServerProtocols.Tcp | ServerProtocols.Udp, options.Declared["dns"].Protocols);
        Assert.Equal(TimeSpan.FromMinutes(2), options.UdpIdleTimeout);

        File.WriteAllText(file, $"servers:\n  dns:\n    secret: {secret}\n    type: sctp\n");
        var error = Assert.Throws<Gray.Hosting.ConfigException>(
            () => Gray.Cli.RelayConfigFile.Apply(file, new RelayOptions()));
        Assert.Contains($"{file}:4", error.Message);
        Assert.Contains("servers.dns.type: 'sctp' is none of tcp, udp, tcp+udp", error.Message);
    }

    [Fact]
    public async Task Dig_gets_dnsmasqs_answer_through_the_tunnel()
    {
        int dnsPort = Ports.Free();
        await using var dnsmasq = GrayProcess.StartProgram("/usr/sbin/dnsmasq", ["--no-daemon", "--conf-file=/dev/null",
            "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1", $"--port={dnsPort}",
            "--address=/gray.test/10.9.8.7", "--user=root", "--pid-file=", "--log-queries"]);
        await dnsmasq.WaitForLineAsync(l => l.Contains("started"), "dnsmasq started");
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("dns", ServerProtocols.Udp | ServerProtocols.Tcp);
        await relay.StartAgentAsync(server, new IPEndPoint(IPAddress.Loopback, dnsPort), pool: 1, udp: true);

        await using var dig = GrayProcess.StartProgram("/usr/bin/dig",
            ["@127.0.0.1", "-p", server.ClientPort.ToString(), "gray.test", "A", "+short", "+tries=3", "+time=5"]);
        Assert.Equal(0, await dig.WaitForExitAsync(Tcp.Deadline));
        Assert.Equal("10.9.8.7", dig.Output.Trim());
    }

    [Fact]
    public async Task With_proxy_protocol_v2_each_datagram_tells_the_service_its_client()
    {
        await using var echo = new UdpEchoService();
        echo.Start();
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("proxied-udp", ServerProtocols.Udp);
        await relay.StartAgentAsync(server, echo.EndPoint, pool: 1, udp: true,
            proxyProtocol: ProxyProtocolVersion.V2);

        using var client = Udp.Bind(IPAddress.Parse("127.0.0.5"));
        byte[] reply = (await Udp.ExchangeAsync(client, server.ClientPort, "payload"u8.ToArray()))!;
        // The echo returns what the agent sent it: the header, then the datagram.
        Assert.Equal(0x21, reply[12]);
        Assert.Equal(0x12, reply[13]); // IPv4, datagram
        Assert.Equal(IPAddress.Parse("127.0.0.5"), new IPAddress(reply.AsSpan(16, 4)));
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, reply[24] << 8 | reply[25]);
        Assert.Equal("payload"u8.ToArray(), reply[28..]);
    }
}
