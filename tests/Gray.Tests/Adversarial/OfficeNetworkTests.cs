// An agent in an office network: its host reaches nothing but the office's HTTP proxy (tinyproxy, in a
// namespace of its own), which reaches the relay and allows CONNECT to one port only: the control port, or
// the web port (443) where the agent comes by WebSocket. No route leads from the agent's host to the
// relay: every other port of the relay is out of its reach.
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

[Collection(nameof(Heavy))]
public class OfficeNetworkTests(ITestOutputHelper output)
{
    private const string RelayAddress = "10.231.9.1", ProxyOutside = "10.231.9.2";
    private const string ProxyInside = "10.231.10.1", AgentAddress = "10.231.10.2";
    private const int ControlPort = 44555, WebPort = 443, ProxyPort = 3128, ServicePort = 7007;

    [NamespacesTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_agent_that_reaches_only_a_proxy_allowing_one_port_of_the_relay_serves_its_clients(
        bool webSocket)
    {
        string name = $"go{(webSocket ? "w" : "")}{Environment.ProcessId % 100000}";
        string relayHost = $"{name}-r", proxyHost = $"{name}-p", agentHost = $"{name}-a";
        string dataDir = Directory.CreateTempSubdirectory("gray-office-").FullName;
        var processes = new List<GrayProcess>();
        GrayProcess Exec(string host, params string[] command)
        {
            output.WriteLine($"[{host}] {string.Join(' ', command)}");
            var process = GrayProcess.StartProgram("ip", ["netns", "exec", host, .. command]);
            processes.Add(process);
            return process;
        }

        await DeleteAsync(relayHost, proxyHost, agentHost); // leftovers of an earlier run
        try
        {
            foreach (string host in new[] { relayHost, proxyHost, agentHost })
            {
                await RunAsync("ip", "netns", "add", host);
            }
            await LinkAsync(relayHost, RelayAddress, proxyHost, ProxyOutside, $"{name}o");
            await LinkAsync(proxyHost, ProxyInside, agentHost, AgentAddress, $"{name}i");

            string proxyConfig = Path.Combine(dataDir, "tinyproxy.conf");
            await File.WriteAllLinesAsync(proxyConfig, [$"Port {ProxyPort}", $"Listen {ProxyInside}", "Timeout 120",
                "Allow 10.231.10.0/24", $"ConnectPort {(webSocket ? WebPort : ControlPort)}"]);
            await Exec(proxyHost, TinyProxy.Program, "-d", "-c", proxyConfig)
                .WaitForLineAsync(l => l.Contains("Accepting connections"), "tinyproxy listening");

            string gray = Path.Combine(AppContext.BaseDirectory, "gray.dll");
            string relayData = Path.Combine(dataDir, "relay");
            await Exec(relayHost, "env", "GRAY_HTTP_TLS=true", "dotnet", gray, "relay", "--data-dir", relayData,
                    "--control", $"{RelayAddress}:{ControlPort}", "--ports", "21000-21010", "--no-console",
                    "--http", $"{RelayAddress}:{WebPort}")
                .WaitForLineAsync(l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay started");
            Exec(agentHost, "python3", "-c", HostScripts.EchoService);

            // The relay's address is unreachable from the agent's host: no route leads there.
            var direct = Exec(agentHost, "python3", "-c",
                $"import socket\ntry: socket.create_connection(('{RelayAddress}', {ControlPort}), timeout=5); " +
                "print('reached')\nexcept OSError as e: print('unreachable', e)");
            await direct.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("unreachable", direct.Output);

            foreach (string id in new[] { "office", "office-2" })
            {
                var add = Exec(relayHost, "dotnet", gray, "admin", "add", id, "--json", "--data-dir", relayData);
                Assert.Equal(0, await add.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                var added = System.Text.Json.JsonDocument.Parse(add.Output.Trim()).RootElement;
                int clientPort = added.GetProperty("clientPort").GetInt32();
                string known = Path.Combine(dataDir, "known-" + id);
                string[] agentCommand = ["env", $"GRAY_KNOWN_RELAYS={known}",
                    $"GRAY_SECRET={added.GetProperty("secret").GetString()}", "dotnet", gray, "agent",
                    "--relay", webSocket ? $"wss://{RelayAddress}/gray" : $"{RelayAddress}:{ControlPort}",
                    "--id", id, "--target", $"127.0.0.1:{ServicePort}",
                    "--proxy", $"http://{ProxyInside}:{ProxyPort}", "--pool", "2"];
                var agent = Exec(agentHost, agentCommand);
                await agent.WaitForLineAsync(l => l.Contains("is public on relay"), $"{id}: agent serving",
                    TimeSpan.FromSeconds(60));
                async Task<string> TransferAsync()
                {
                    var client = Exec(relayHost, "python3", "-c", HostScripts.Client, RelayAddress,
                        clientPort.ToString(), (256 * 1024).ToString(), "echo");
                    await client.WaitForExitAsync(TimeSpan.FromSeconds(60));
                    return client.Output.Trim().Split('\n')[^1];
                }

                // The first once the echo service listens; then more pairs than the pool holds, so that the
                // refills come through the proxy too.
                await Wait.UntilAsync(async () => await TransferAsync() == "OK", $"{id}: a first echo");
                for (int i = 0; i < 4; i++) Assert.Equal("OK", await TransferAsync());
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                output.WriteLine(process.Output);
                await process.DisposeAsync();
            }
            await DeleteAsync(relayHost, proxyHost, agentHost);
        }
    }

    private async Task LinkAsync(string hostA, string addressA, string hostB, string addressB, string name)
    {
        await RunAsync("ip", "link", "add", $"{name}a", "type", "veth", "peer", "name", $"{name}b");
        foreach (var (host, side, address) in new[] { (hostA, $"{name}a", addressA), (hostB, $"{name}b", addressB) })
        {
            await RunAsync("ip", "link", "set", side, "netns", host);
            await RunAsync("ip", "netns", "exec", host, "ip", "addr", "add", $"{address}/24", "dev", side);
            await RunAsync("ip", "netns", "exec", host, "ip", "link", "set", side, "up");
            await RunAsync("ip", "netns", "exec", host, "ip", "link", "set", "lo", "up");
        }
    }

    private async Task RunAsync(params string[] command)
    {
        await using var process = GrayProcess.StartProgram(command[0], command[1..]);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        if (exit != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({exit}): {process.Output}");
        }
    }

    private static async Task DeleteAsync(params string[] hosts)
    {
        foreach (string host in hosts)
        {
            await using var delete = GrayProcess.StartProgram("ip", ["netns", "delete", host]);
            await delete.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }
    }
}
