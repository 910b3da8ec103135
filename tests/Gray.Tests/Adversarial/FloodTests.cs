// Many connections at once: slowloris on every port, floods past the limits, and access rules.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

[Collection(nameof(Heavy))]
public class FloodTests(ITestOutputHelper output)
{
    /// <summary>Connections per port in the slowloris test.</summary>
    private const int SlowConnections = 1000;

    /// <summary>Addresses the slow connections come from, so per-address limits do not refuse them first.</summary>
    private const int SlowSources = 50;

    [Fact]
    public async Task Slowloris_on_every_port_is_closed_by_the_deadlines_while_a_healthy_agent_connects()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(new()
        {
            ["max_connections"] = "5000", ["client_wait_timeout"] = "5s",
            ["servers"] = "{ healthy: { data_port: separate } }", // a data port of its own, to attack too
        });
        // A server whose agent never opens data connections: its clients can only wait, then be closed.
        var starved = await tunnel.Relay.AddServerAsync("starved");
        await using var starvedAgent = await FakeAgent.ConnectAsync(tunnel.Relay.ControlPort, starved, pool: 1);

        int[] ports = [tunnel.Relay.ControlPort, tunnel.Server.DataPort, starved.ClientPort];
        var slow = new List<Socket>();
        foreach (int port in ports)
        {
            for (int i = 0; i < SlowConnections; i++)
                slow.Add(await Tcp.ConnectAsync(port, from: Sources.Address(i % SlowSources)));
        }

        var started = Stopwatch.StartNew();
        var dripping = DripAsync(slow, TimeSpan.FromSeconds(20));

        // Meanwhile a new, healthy agent connects and serves.
        await using var echo = new EchoService();
        echo.Start();
        var newcomer = await tunnel.Relay.AddServerAsync("newcomer");
        await tunnel.Relay.StartAgentAsync(newcomer, echo.EndPoint);
        await Wait.UntilAsync(() => AgentTests.TryEchoAsync(newcomer.ClientPort), "newcomer serves during the attack");

        int open = await dripping;
        output.WriteLine(
            $"{slow.Count} slow connections; {open} still open after {started.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(0, open);
        foreach (var socket in slow) socket.Dispose();
        await tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task Floods_past_the_global_and_per_ip_limits_are_refused_at_once_with_bounded_memory()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(new()
        {
            ["max_connections"] = "300", ["max_client_connections_per_ip"] = "50",
        });
        int relayPid = tunnel.Relay.Process!.Pid;
        long rssBefore = ProcessStats.Rss(relayPid);

        // Per address: the 51st connection from one address is refused at once.
        var held = new List<Socket>();
        var from = Sources.Address(0);
        for (int i = 0; i < 50; i++) held.Add(await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: from));
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: from), "per-IP limit reached");

        // Globally: fill the relay up to max_connections from many addresses, then every further one is refused.
        int source = 1;
        var refusal = Stopwatch.StartNew();
        int refused = 0;
        for (int i = 0; i < 600; i++)
        {
            var address = Sources.Address(source + i / 40);
            try
            {
                var socket = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: address);
                held.Add(socket);
            }
            catch (SocketException)
            {
                refused++;
            }
        }

        // Let the relay's accept loop catch up, then count how many it actually keeps.
        await Task.WhenAll(held.Select(async s =>
        {
            if (await Tcp.IsClosedByPeerAsync(s, TimeSpan.FromMilliseconds(500))) Interlocked.Increment(ref refused);
        }));
        refusal.Stop();
        int kept = 50 + 600 - refused;
        output.WriteLine($"kept {kept}, refused {refused} of {50 + 600}; relay RSS {rssBefore >> 20} MiB before, " +
            $"peak {ProcessStats.PeakRss(relayPid) >> 20} MiB");
        Assert.InRange(kept, 1, 300); // never more than max_connections, agent and pool included
        Assert.True(refused >= 650 - 300, $"only {refused} refused");
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: Sources.Address(100)),
            "a further connection was not refused at once");
        Assert.True(ProcessStats.PeakRss(relayPid) < rssBefore + (64L << 20), "relay memory grew by more than 64 MiB");

        foreach (var socket in held) socket.Dispose();
        await tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task A_deny_listed_client_is_refused_and_allowed_clients_keep_working()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(new()
        {
            ["client_deny"] = "[127.0.9.0/24, \"::ffff:127.0.8.8/128\"]",
        });
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.9.9")));
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.8.8")));
        using var allowed = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.7.7"));
        await allowed.SendAsync("ok"u8.ToArray());
        Assert.Equal("ok"u8.ToArray(), await Tcp.ReadExactlyAsync(allowed, 2));
        await tunnel.AssertHealthyAsync();
        var (_, shown) = await tunnel.Relay.AdminAsync("show");
        Assert.Contains("deny=[127.0.9.0/24,::ffff:127.0.8.8/128]", shown);
    }

    [Fact]
    public async Task An_allow_list_admits_only_its_networks()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(
            new() { ["client_allow"] = "[127.0.0.1/32, 127.0.5.0/24]" });
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.6.1")));
        using var allowed = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.5.5"));
        await allowed.SendAsync("in"u8.ToArray());
        Assert.Equal("in"u8.ToArray(), await Tcp.ReadExactlyAsync(allowed, 2));
    }

    /// <summary>Sends one byte a second on every socket until all are closed or the time is up; returns how many are
    /// open.</summary>
    private static async Task<int> DripAsync(List<Socket> sockets, TimeSpan limit)
    {
        var open = new HashSet<Socket>(sockets);
        var deadline = DateTime.UtcNow + limit;
        while (open.Count > 0 && DateTime.UtcNow < deadline)
        {
            foreach (var socket in open.ToArray())
            {
                try
                {
                    if (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0) open.Remove(socket); // EOF
                    else socket.Send([0x16]);
                }
                catch (SocketException)
                {
                    open.Remove(socket);
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1)); // the attack's own pace: one byte a second
        }

        return open.Count;
    }
}
