// Agents behind an HTTP proxy: control and data connections go through CONNECT to the relay's one
// port, through Debian's tinyproxy, which allows CONNECT to that port only.
using System.Globalization;
using Gray.Cli;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ProxyTests
{
    [Fact]
    public async Task An_agent_behind_an_http_proxy_serves_through_connect_to_the_control_port_half_close_included()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        await using var proxy = await TinyProxy.StartAsync(relay.ControlPort);
        var server = await relay.AddServerAsync("proxied");
        await relay.StartAgentAsync(server, echo.EndPoint, ["--pool", "2", "--proxy", proxy.Url]);
        // Through a proxy the agent multiplexes: a pooled connection's half-close (a TCP FIN) would not pass
        // tinyproxy, which closes both ways at the first FIN; a channel's half-close is a frame.
        Assert.Contains("\"mux\":true", (await relay.AdminAsync("show", "--json")).Output);

        for (int i = 0; i < 6; i++)
        {
            // The client half-closes first; the echo still comes back whole.
            using var client = await Tcp.ConnectAsync(server.ClientPort);
            byte[] sent = System.Security.Cryptography.RandomNumberGenerator.GetBytes(64 * 1024);
            await client.SendAsync(sent);
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
            Assert.Equal(sent, await Tcp.ReadToEndAsync(client));
        }

        // Every connection of the agent to the relay is one through the proxy.
        Assert.True(EstablishedTo(proxy.Port) >= 2, "the agent's connections do not go through the proxy");
    }

    [Fact]
    public async Task The_agent_takes_HTTPS_PROXY_and_reports_a_proxy_that_refuses_the_relays_port()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        await using var proxy = await TinyProxy.StartAsync(443); // not the relay's port
        var server = await relay.AddServerAsync("refused-by-proxy");
        var agent = await relay.StartAgentAsync(server, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9),
            waitUntilServing: false, environment: new() { ["HTTPS_PROXY"] = proxy.Url });
        await agent.WaitForLineAsync(l => l.Contains("refused CONNECT 127.0.0.1:", StringComparison.Ordinal),
            "the proxy's refusal reported");
    }

    [Fact]
    public void HTTPS_PROXY_applies_unless_NO_PROXY_names_the_relay_and_the_flag_wins()
    {
        var env = new Dictionary<string, string?>
        {
            ["HTTPS_PROXY"] = "http://proxy.corp:3128", ["NO_PROXY"] = "localhost, .internal.example",
        };
        string? Variable(string name) => env.GetValueOrDefault(name);
        Assert.Equal("proxy.corp", ProxySettings.Resolve(null, "relay.example.org", Variable)!.EndPoint.Host);
        Assert.Null(ProxySettings.Resolve(null, "relay.internal.example", Variable));
        Assert.Null(ProxySettings.Resolve(null, "localhost", Variable));
        Assert.Null(ProxySettings.Resolve("direct", "relay.example.org", Variable));
        Assert.Equal(8080, ProxySettings.Resolve("http://u:p@other:8080", "localhost", Variable)!.EndPoint.Port);
        var error = Assert.Throws<Gray.Hosting.ConfigException>(
            () => ProxySettings.Resolve("socks5://x:1", "relay", Variable));
        Assert.Contains("--proxy", error.Message);
    }

    [Fact]
    public async Task The_agent_file_names_its_proxy_and_a_wrong_one_is_an_error_with_its_line()
    {
        string dir = Directory.CreateTempSubdirectory("gray-agent-proxy-").FullName;
        string file = Path.Combine(dir, "agent.yaml");
        await File.WriteAllTextAsync(file, "relay: relay.example.org:44555\nproxy: http://127.0.0.1:3128\n" +
            "tunnels:\n  web: { target: 127.0.0.1:80, secret: " + new string('s', 40) + " }\n");
        var tunnel = Assert.Single(AgentConfig.Load(file, Path.Combine(dir, "known_relays")));
        Assert.Equal(3128, tunnel.Proxy!.EndPoint.Port);

        await File.WriteAllTextAsync(file, "relay: relay.example.org:44555\nproxy: socks5://127.0.0.1:1080\n" +
            "tunnels:\n  web: { target: 127.0.0.1:80, secret: " + new string('s', 40) + " }\n");
        var error = Assert.Throws<Gray.Hosting.ConfigException>(
            () => AgentConfig.Load(file, Path.Combine(dir, "known_relays")));
        Assert.Contains($"{file}:2", error.Message);
    }

    private static int EstablishedTo(int port) =>
        File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(f => int.Parse(f[1].Split(':')[1], NumberStyles.HexNumber) == port && f[3] == "01");
}
