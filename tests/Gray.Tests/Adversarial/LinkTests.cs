// The relay and the agent on two hosts of their own: network namespaces joined by a veth pair, or,
// for a slow and lossy link, by a user-space link (two TUN devices and a forwarder that delays and
// drops packets) because this kernel has no tc netem. Skipped, with the reason, where namespaces
// cannot be made.
using System.Diagnostics;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

[Collection(nameof(Heavy))]
public class LinkTests(ITestOutputHelper output)
{
    [NamespacesFact]
    public async Task A_cut_link_fires_the_ping_timeout_and_the_agent_comes_back_when_it_heals()
    {
        await using var link = await TwoHosts.CreateAsync(output);
        await using var relay = await link.StartRelayAsync(pingInterval: "300ms", pingTimeout: "2s");
        var server = await link.AddServerAsync();
        await using var agent = link.StartAgent(server);
        await agent.WaitForLineAsync(l => l.Contains("is public on relay"), "agent serving");
        Assert.Equal(TwoHosts.Ok, await link.TransferAsync(server.ClientPort, 1024 * 1024));

        await link.RunAsync("ip", "netns", "exec", link.AgentHost, "ip", "link", "set", link.AgentSide, "down"); // cut
        await relay.WaitForLineAsync(l => l.Contains("no pong"), "ping timeout on the relay", TimeSpan.FromSeconds(15));
        await link.RunAsync("ip", "netns", "exec", link.AgentHost, "ip", "link", "set", link.AgentSide, "up"); // heal
        await Wait.UntilAsync(async () => await link.TransferAsync(server.ClientPort, 64 * 1024) == TwoHosts.Ok,
            "agent back after the link healed", TimeSpan.FromSeconds(60));
    }

    [NamespacesFact]
    public async Task
        Sixteen_MiB_cross_a_link_with_100_ms_delay_and_5_percent_loss_intact_and_a_dead_link_fires_the_ping_timeout()
    {
        // The agent's side of the link delays its packets by 100 ms and drops 5% of them, as
        // `tc qdisc add dev AGENT root netem delay 100ms loss 5%` would.
        await using var link = await TwoHosts.CreateAsync(output, lossy: true);
        await using var relay = await link.StartRelayAsync(pingInterval: "1s", pingTimeout: "5s");
        var server = await link.AddServerAsync();
        await using var agent = link.StartAgent(server);
        await agent.WaitForLineAsync(l => l.Contains("is public on relay"), "agent serving", TimeSpan.FromSeconds(60));
        string rtt = await link.RoundTripAsync(server.ClientPort);
        output.WriteLine($"echo round trips through the tunnel, ms: {rtt}");
        Assert.True(
            rtt.Split(' ').Select(int.Parse).Min() >= 100, "the link does not delay: the test would prove nothing");
        var watch = Stopwatch.StartNew();
        Assert.Equal(TwoHosts.Ok,
            await link.TransferAsync(server.ClientPort, 16 * 1024 * 1024, TimeSpan.FromMinutes(5), echo: true));
        output.WriteLine($"16 MiB through the lossy link in {watch.Elapsed.TotalSeconds:0.0} s");

        link.CutLossyLink(); // 100% loss
        await relay.WaitForLineAsync(l => l.Contains("no pong"), "ping timeout on the relay", TimeSpan.FromSeconds(30));
    }
}

/// <summary>Two namespaces, "relay" and "agent", joined by a veth pair with the project's own addresses.</summary>
internal sealed class TwoHosts : IAsyncDisposable
{
    public const string Ok = "OK";
    private const string RelayAddress = "10.231.7.1", AgentAddress = "10.231.7.2";
    private const int ControlPort = 44555, ServicePort = 7007;
    private readonly ITestOutputHelper _output;
    private readonly string _dataDir = Directory.CreateTempSubdirectory("gray-ns-").FullName;

    private TwoHosts(ITestOutputHelper output, string name)
    {
        _output = output;
        RelayHost = $"{name}-r";
        AgentHost = $"{name}-a";
        RelaySide = $"{name[..Math.Min(name.Length, 10)]}r";
        AgentSide = $"{name[..Math.Min(name.Length, 10)]}a";
    }

    public string RelayHost { get; }

    public string AgentHost { get; }

    public string RelaySide { get; }

    public string AgentSide { get; }

    private string GrayDll => Path.Combine(AppContext.BaseDirectory, "gray.dll");

    public static async Task<TwoHosts> CreateAsync(ITestOutputHelper output, bool lossy = false)
    {
        var hosts = new TwoHosts(output, $"gy{Environment.ProcessId % 100000}{(lossy ? "l" : "")}");
        await hosts.DisposeAsync(); // leftovers of an earlier run
        try
        {
            await hosts.BuildAsync(lossy);
            return hosts;
        }
        catch
        {
            await hosts.DisposeAsync();
            throw;
        }
    }

    private async Task BuildAsync(bool lossy)
    {
        var hosts = this;
        foreach (var host in new[] { hosts.RelayHost, hosts.AgentHost })
            await hosts.RunAsync("ip", "netns", "add", host);
        if (lossy)
        {
            string script = Path.Combine(AppContext.BaseDirectory, "Assets", "lossy_link.py");
            hosts._lossyLink = hosts.Exec(null, "python3", script, hosts.RelaySide, hosts.AgentSide, "100", "5");
            await hosts._lossyLink.WaitForLineAsync(l => l == "ready", "lossy link ready");
        }
        else
        {
            await hosts.RunAsync("ip", "link", "add", hosts.RelaySide, "type", "veth", "peer", "name", hosts.AgentSide);
        }

        await hosts.RunAsync("ip", "link", "set", hosts.RelaySide, "netns", hosts.RelayHost);
        await hosts.RunAsync("ip", "link", "set", hosts.AgentSide, "netns", hosts.AgentHost);
        foreach (var (host, side, address) in new[] { (hosts.RelayHost, hosts.RelaySide, RelayAddress),
            (hosts.AgentHost, hosts.AgentSide, AgentAddress) })
        {
            await hosts.RunAsync("ip", "netns", "exec", host, "ip", "addr", "add", $"{address}/24", "dev", side);
            await hosts.RunAsync("ip", "netns", "exec", host, "ip", "link", "set", side, "up");
            await hosts.RunAsync("ip", "netns", "exec", host, "ip", "link", "set", "lo", "up");
        }
    }

    public async Task<GrayProcess> StartRelayAsync(string pingInterval, string pingTimeout)
    {
        string config = Path.Combine(_dataDir, "relay.yaml");
        await File.WriteAllTextAsync(config, $"ping_interval: {pingInterval}\nping_timeout: {pingTimeout}\n");
        var relay = Exec(
            RelayHost, "dotnet", GrayDll, "relay", "--config", config, "--data-dir", Path.Combine(_dataDir, "relay"),
            "--control", $"{RelayAddress}:{ControlPort}", "--ports", "21000-21010", "--no-console");
        await relay.WaitForLineAsync(
            l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay started");
        return relay;
    }

    public async Task<AddedServer> AddServerAsync()
    {
        await using var add = Exec(RelayHost, "dotnet", GrayDll, "admin", "add", "far", "--json", "--data-dir",
            Path.Combine(_dataDir, "relay"));
        Assert.Equal(0, await add.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var json = System.Text.Json.JsonDocument.Parse(add.Output.Trim()).RootElement;
        return new AddedServer("far", json.GetProperty("clientPort").GetInt32(),
            json.GetProperty("dataPort").GetInt32(), json.GetProperty("secret").GetString()!);
    }

    /// <summary>The agent, and its echo service, on the agent host.</summary>
    public GrayProcess StartAgent(AddedServer server)
    {
        _service = Exec(AgentHost, "python3", "-c", HostScripts.EchoService);
        return Exec(
            AgentHost, "env", $"GRAY_KNOWN_RELAYS={Path.Combine(_dataDir, "known")}", "dotnet", GrayDll, "agent",
            "--relay", $"{RelayAddress}:{ControlPort}", "--id", server.Id, "--secret", server.Secret, "--target",
            $"127.0.0.1:{ServicePort}");
    }

    /// <summary>A client on the relay host sends random bytes and checks the echo's SHA-256; returns "OK" or the
    /// failure.</summary>
    /// <summary>
    /// A client on the relay host sends random bytes and checks what comes back: the echo's SHA-256, or
    /// (without echo) the SHA-256 that the service computes of what it read. Returns "OK" or the failure.
    /// </summary>
    public async Task<string> TransferAsync(int clientPort, int bytes, TimeSpan? within = null, bool echo = true)
    {
        await using var client = Exec(RelayHost, "python3", "-c", HostScripts.Client, RelayAddress,
            clientPort.ToString(), bytes.ToString(), echo ? "echo" : "hash");
        try
        {
            await client.WaitForExitAsync(within ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            return "timed out";
        }

        return client.Output.Trim().Split('\n')[^1];
    }

    /// <summary>Ten one-byte echoes through the tunnel from the relay host; their round trips in ms, sorted.</summary>
    public async Task<string> RoundTripAsync(int clientPort)
    {
        await using var client = Exec(RelayHost, "python3", "-c", """
            import socket, sys, time
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30); c.sendall(b"e"); times = []
            for _ in range(10):
                t = time.monotonic(); c.sendall(b"x"); c.recv(1); times.append(int((time.monotonic() - t) * 1000))
            print(" ".join(str(t) for t in sorted(times)))
            """, RelayAddress, clientPort.ToString());
        await client.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return client.Output.Trim().Split('\n')[^1];
    }

    public async Task RunAsync(params string[] command)
    {
        await using var process = Exec(null, command);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        if (exit != 0)
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({exit}): {process.Output}");
    }

    /// <summary>Makes the user-space link drop everything, both ways.</summary>
    public void CutLossyLink() => _lossyLink!.Signal(10); // SIGUSR1

    public async ValueTask DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        if (_lossyLink is not null) await _lossyLink.DisposeAsync();
        foreach (var host in new[] { RelayHost, AgentHost })
        {
            await using var delete = Exec(null, "ip", "netns", "delete", host);
            await delete.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private GrayProcess? _service;
    private GrayProcess? _lossyLink;

    private GrayProcess Exec(string? host, params string[] command)
    {
        string[] full = host is null ? command : ["ip", "netns", "exec", host, .. command];
        _output.WriteLine(string.Join(' ', full));
        return GrayProcess.StartProgram(full[0], full[1..]);
    }
}
