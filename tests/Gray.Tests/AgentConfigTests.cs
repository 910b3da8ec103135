// An agent file with several tunnels, all served by one process; tunnels added and removed live.
using Gray.Tests.Harness;

namespace Gray.Tests;

public class AgentConfigTests
{
    [Fact]
    public async Task One_agent_runs_every_tunnel_of_its_file_and_a_reload_adds_and_removes_tunnels()
    {
        await using var echo = new EchoService();
        await using var banner = new BannerService("hello from b\n");
        echo.Start();
        banner.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var a = await relay.AddServerAsync("tunnel-a");
        var b = await relay.AddServerAsync("tunnel-b");
        var c = await relay.AddServerAsync("tunnel-c");
        string dir = Directory.CreateTempSubdirectory("gray-agent-config-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "b.secret"), b.Secret + "\n");
        string config = Path.Combine(dir, "agent.yaml");
        string Yaml(params string[] tunnels) =>
            $"relay: 127.0.0.1:{relay.ControlPort}\nfingerprint: {relay.Fingerprint}\ntunnels:\n"
            + string.Join("", tunnels);
        string tunnelA = $"  tunnel-a: {{ target: '{echo.EndPoint}', secret: '{a.Secret}', pool: 2 }}\n";
        string tunnelB = $"  tunnel-b: {{ target: '{banner.EndPoint}', secret_file: b.secret }}\n";
        string tunnelC = $"  tunnel-c: {{ target: '{echo.EndPoint}', secret_env: TUNNEL_C_SECRET, mux: true }}\n";
        await File.WriteAllTextAsync(config, Yaml(tunnelA, tunnelB));

        await using var agent = GrayProcess.Start(["agent", "--config", config],
            new Dictionary<string, string> { ["TUNNEL_C_SECRET"] = c.Secret });
        await agent.WaitForLineAsync(l => l.Contains("server tunnel-a is public"), "tunnel a");
        await agent.WaitForLineAsync(l => l.Contains("server tunnel-b is public"), "tunnel b");
        await AgentTests.AssertEchoAsync(a.ClientPort);
        using (var client = await Tcp.ConnectAsync(b.ClientPort))
        {
            Assert.Equal(banner.Banner, await Tcp.ReadExactlyAsync(client, banner.Banner.Length));
        }

        // Reload: c added, b removed, a unchanged (its running pair is not disturbed).
        using var pairOnA = await Tcp.ConnectAsync(a.ClientPort);
        await pairOnA.SendAsync("1"u8.ToArray());
        await Tcp.ReadExactlyAsync(pairOnA, 1);
        await File.WriteAllTextAsync(config, Yaml(tunnelA, tunnelC));
        await agent.WaitForLineAsync(l => l.Contains("server tunnel-c is public"), "tunnel c added");
        await AgentTests.AssertEchoAsync(c.ClientPort);
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAsync(b.ClientPort), "tunnel b removed", TimeSpan.FromSeconds(20));
        await pairOnA.SendAsync("2"u8.ToArray());
        Assert.Equal("2"u8.ToArray(), await Tcp.ReadExactlyAsync(pairOnA, 1));

        // A broken file is refused; the tunnels stay.
        await File.WriteAllTextAsync(config, "relay: [broken\n");
        await agent.WaitForLineAsync(l => l.Contains("reload (the file changed) refused"), "bad file refused");
        await AgentTests.AssertEchoAsync(a.ClientPort);
        Assert.DoesNotContain(a.Secret, agent.Output);
    }

    [Fact]
    public async Task Without_flags_both_roles_read_gray_yaml_from_the_working_directory()
    {
        await using var echo = new EchoService();
        echo.Start();
        var paths = new TestRelay();
        string relayDir = Directory.CreateTempSubdirectory("gray-default-relay-").FullName;
        await File.WriteAllTextAsync(Path.Combine(relayDir, "gray.yaml"),
            $"control: 127.0.0.1:{paths.ControlPort}\nports: {paths.PortLow}-{paths.PortHigh}\ndata_dir: " +
            "data\nmax_connections: 123\n");
        await using var relay = GrayProcess.Start(["relay", "--no-console"], workingDirectory: relayDir);
        string started = await relay.WaitForLineAsync(
            l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay from gray.yaml");
        string fingerprint = started[(started.LastIndexOf(' ') + 1)..];
        var (_, shown) = await GrayProcess.RunAsync(["admin", "show", "--data-dir", Path.Combine(relayDir, "data")]);
        Assert.Contains("/123", shown);
        var (_, added) = await GrayProcess.RunAsync(
            ["admin", "add", "defaulted", "--json", "--data-dir", Path.Combine(relayDir, "data")]);
        var json = System.Text.Json.JsonDocument.Parse(added.Trim()).RootElement;

        string agentDir = Directory.CreateTempSubdirectory("gray-default-agent-").FullName;
        int metricsPort = paths.PortHigh;
        await File.WriteAllTextAsync(Path.Combine(agentDir, "gray.yaml"),
            $"relay: 127.0.0.1:{paths.ControlPort}\nfingerprint: {fingerprint}\nlog_level: debug\nmetrics: {{ " +
            $"listen: 127.0.0.1:{metricsPort} }}\n" +
            $"tunnels:\n  defaulted: {{ target: '{echo.EndPoint}', secret: " +
            $"'{json.GetProperty("secret").GetString()}' }}\n");
        await using var agent = GrayProcess.Start(["agent"], workingDirectory: agentDir);
        await agent.WaitForLineAsync(l => l.Contains("server defaulted is public"), "agent from gray.yaml");
        await AgentTests.AssertEchoAsync(json.GetProperty("clientPort").GetInt32());
        await agent.WaitForLineAsync(l => l.Contains("dbug:"), "debug lines, as the file says");
        using var http = new HttpClient();
        Assert.Contains(
            "gray_agent_pairs_active", await http.GetStringAsync($"http://127.0.0.1:{metricsPort}/metrics"));
    }
}
