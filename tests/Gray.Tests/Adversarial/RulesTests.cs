// The operator's levers: drain, resume, kick, idle pairs, per-server pool limits, and where limits come from.
using System.Net;
using System.Text.Json;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests.Adversarial;

public class RulesTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Drain_refuses_new_clients_lets_running_pairs_finish_and_resume_undoes_it(bool mux)
    {
        await using var tunnel = await HealthyTunnel.StartAsync(agentArgs: ["--mux", mux ? "true" : "false"]);
        using var running = await Tcp.ConnectAsync(tunnel.Server.ClientPort);
        await running.SendAsync("a"u8.ToArray());
        await Tcp.ReadExactlyAsync(running, 1);

        Assert.Equal(0, (await tunnel.Relay.AdminAsync("drain", "healthy")).ExitCode);
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort));
        await running.SendAsync("b"u8.ToArray()); // the running pair goes on
        Assert.Equal("b"u8.ToArray(), await Tcp.ReadExactlyAsync(running, 1));
        var (_, shown) = await tunnel.Relay.AdminAsync("show", "--json");
        Assert.True(JsonDocument.Parse(shown).RootElement.GetProperty("servers")[0].GetProperty("draining")
            .GetBoolean());

        Assert.Equal(0, (await tunnel.Relay.AdminAsync("resume")).ExitCode);
        await tunnel.AssertHealthyAsync();

        Assert.Equal(0, (await tunnel.Relay.AdminAsync("drain", "--all")).ExitCode);
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort));
        (_, shown) = await tunnel.Relay.AdminAsync("show");
        Assert.Contains("DRAINING ALL", shown);
        Assert.Equal(0, (await tunnel.Relay.AdminAsync("resume", "--all")).ExitCode);
        await tunnel.AssertHealthyAsync();
        Assert.Equal(2, (await tunnel.Relay.AdminAsync("drain", "nonexistent")).ExitCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Kick_ends_one_clients_pairs_and_leaves_the_others(bool mux)
    {
        await using var tunnel = await HealthyTunnel.StartAsync(agentArgs: ["--mux", mux ? "true" : "false"]);
        using var victim = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.3.3"));
        using var bystander = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.3.4"));
        foreach (var socket in new[] { victim, bystander })
        {
            await socket.SendAsync("x"u8.ToArray());
            await Tcp.ReadExactlyAsync(socket, 1);
        }

        var (exitCode, output) = await tunnel.Relay.AdminAsync("kick", "healthy", "--client", "127.0.3.3");
        Assert.Equal(0, exitCode);
        Assert.Contains("kicked 1", output);
        Assert.True(await Tcp.IsClosedByPeerAsync(victim, TimeSpan.FromSeconds(5)));
        await bystander.SendAsync("y"u8.ToArray());
        Assert.Equal("y"u8.ToArray(), await Tcp.ReadExactlyAsync(bystander, 1));
    }

    [Fact]
    public async Task An_idle_pair_is_closed_after_the_idle_timeout_and_the_pool_limit_is_per_server()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(new()
        {
            ["pair_idle_timeout"] = "1s",
            ["servers"] = "{ small: { max_pool: 2, pair_idle_timeout: 30s } }",
        });
        await Tcp.AssertClosedAfterOneSecondIdleAsync(tunnel.Server.ClientPort);

        var small = await tunnel.Relay.AddServerAsync("small");
        var error = Assert.IsType<ErrorMessage>(await AuthTests.HandshakeAsync(tunnel.Relay.ControlPort,
            new Hello(Wire.Version, 3, false, "small"), small.Secret));
        Assert.Equal(ErrorCode.PoolOutOfRange, error.Code);
        Assert.Contains("1-2", error.Message);

        await using var fits = await FakeAgent.ConnectAsync(tunnel.Relay.ControlPort, small, pool: 2);
        var (_, shown) = await tunnel.Relay.AdminAsync("show", "--json");
        var rules = JsonDocument.Parse(shown).RootElement.GetProperty("servers").EnumerateArray()
            .Single(e => e.GetProperty("id").GetString() == "small").GetProperty("rules");
        Assert.Equal(2, rules.GetProperty("maxPool").GetInt32());
        Assert.Equal("30s", rules.GetProperty("pairIdleTimeout").GetString());
    }

    [Fact]
    public async Task Unauthenticated_connections_per_address_push_out_their_own_oldest_on_both_ports_together()
    {
        // Deadlines far away: only eviction may close a pending connection here, however slow the machine.
        await using var tunnel = await HealthyTunnel.StartAsync(new()
        {
            ["max_pending_per_ip"] = "4", ["handshake_timeout"] = "60s", ["otp_timeout"] = "60s",
            ["servers"] = "{ healthy: { data_port: separate } }", // both ports: the control port and a data port
        });
        var attacker = IPAddress.Parse("127.0.4.4");
        var pending = new List<System.Net.Sockets.Socket>();
        for (int i = 0; i < 2; i++) pending.Add(await Tcp.ConnectAsync(tunnel.Relay.ControlPort, from: attacker));
        for (int i = 0; i < 2; i++) pending.Add(await Tcp.ConnectAsync(tunnel.Server.DataPort, from: attacker));
        // Counted as pending (not authenticated): the relay's own count, not the agent's connections, which
        // may come and go meanwhile.
        await Wait.UntilAsync(async () => await PendingAsync(tunnel.Relay) >= 4, "the four admitted");

        // A fifth from the same address gets in, and the address's oldest is closed for it.
        using var fifth = await Tcp.ConnectAsync(tunnel.Relay.ControlPort, from: attacker);
        Assert.True(await Tcp.IsClosedByPeerAsync(pending[0]), "the oldest pending connection was kept");
        Assert.False(await Tcp.IsClosedByPeerAsync(fifth, TimeSpan.FromMilliseconds(300)));
        Assert.False(await Tcp.IsClosedByPeerAsync(pending[3], TimeSpan.FromMilliseconds(300)));

        // Another address is not affected, and authenticated connections do not count: the healthy
        // agent (from 127.0.0.1) keeps its pool of data connections.
        using var other = await Tcp.ConnectAsync(tunnel.Relay.ControlPort, from: IPAddress.Parse("127.0.4.5"));
        Assert.False(await Tcp.IsClosedByPeerAsync(other, TimeSpan.FromMilliseconds(300)));
        await tunnel.AssertHealthyAsync();
        foreach (var socket in pending) socket.Dispose();
    }

    private static async Task<int> PendingAsync(TestRelay relay)
    {
        var (_, shown) = await relay.AdminAsync("show", "--json");
        return JsonDocument.Parse(shown).RootElement.GetProperty("limits").GetProperty("pending").GetInt32();
    }

    [Fact]
    public async Task Max_connections_comes_from_the_flag_then_the_environment_then_the_file()
    {
        var paths = new TestRelay();
        string config = Path.Combine(paths.DataDir, "..", Path.GetFileName(paths.DataDir) + "-limits.yaml");
        await File.WriteAllTextAsync(config, "max_connections: 111\n");

        async Task<int> ShownAsync(string[] extra, Dictionary<string, string>? environment)
        {
            await using var relay = GrayProcess.Start(["relay", "--config", config, "--data-dir", paths.DataDir,
                "--control", $"127.0.0.1:{paths.ControlPort}", "--ports", $"{paths.PortLow}-{paths.PortHigh}",
                "--no-console", .. extra], environment);
            await relay.WaitForLineAsync(
                l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay started");
            var (_, shown) = await GrayProcess.RunAsync(["admin", "show", "--data-dir", paths.DataDir]);
            relay.Signal(GrayProcess.SigTerm);
            await relay.WaitForExitAsync(TimeSpan.FromSeconds(10));
            return int.Parse(
                System.Text.RegularExpressions.Regex.Match(shown, @"connections \d+/(\d+)").Groups[1].Value);
        }

        Assert.Equal(111, await ShownAsync([], null));
        Assert.Equal(222, await ShownAsync([], new() { ["GRAY_MAX_CONNECTIONS"] = "222" }));
        Assert.Equal(333, await ShownAsync(["--max-connections", "333"], new() { ["GRAY_MAX_CONNECTIONS"] = "222" }));
    }
}
