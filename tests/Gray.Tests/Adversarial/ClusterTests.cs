// Three relay nodes on one PostgreSQL, each in a network namespace of its own, with an agent host and a
// client host: the agent serves on every node, a server added on one node is served on another, and the
// cluster survives losing a node and its database for a while (decision 0042).
using System.Diagnostics;
using System.Text.Json;
using Gray.Protocol;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

/// <summary>A fact that needs network namespaces and PostgreSQL; skipped with the reason otherwise.</summary>
public sealed class ClusterFactAttribute : FactAttribute
{
    public ClusterFactAttribute()
    {
        if (Probe.NamespacesMissing() is { } reason) Skip = reason;
        else if (PostgresServer.Missing() is { } missing) Skip = missing;
    }
}

[Collection(nameof(Heavy))]
public class ClusterTests(ITestOutputHelper output)
{
    private const int ControlPort = 44555, HttpPort = 44580, DatabasePort = 5432;
    private static readonly string Gray = GrayCommand.BuildOutputDll;

    private static string Node(int n) => $"{ClusterNetwork.Subnet}.{10 + n}";

    [ClusterFact]
    public async Task Three_nodes_serve_every_tunnel_and_survive_the_loss_of_a_node_and_of_the_database()
    {
        string prefix = $"gc{Environment.ProcessId % 100000}";
        string dir = Directory.CreateTempSubdirectory("gray-cluster-").FullName;
        await using var net = new ClusterNetwork(prefix, output);
        await net.StartAsync();
        string dbHost = await net.AddHostAsync("db", 5);
        string[] relayHosts = [await net.AddHostAsync("r1", 11), await net.AddHostAsync("r2", 12),
            await net.AddHostAsync("r3", 13)];
        string agentHost = await net.AddHostAsync("ag", 20, "127.0.0.1 localhost\n" +
            string.Concat(Enumerable.Range(1, 3).Select(n => $"{Node(n)} relays.gray.test\n")));
        string clientHost = await net.AddHostAsync("cl", 30);
        await using var postgres = await PostgresServer.StartAsync($"{ClusterNetwork.Subnet}.5", DatabasePort,
            command => ["ip", "netns", "exec", dbHost, .. command], $"{ClusterNetwork.Subnet}.0/24");
        string registry = await postgres.CreateDatabaseAsync("cluster");

        // One certificate for the cluster: node 1 makes it, the others present the same.
        string cert = Path.Combine(dir, "r1", "relay-cert.pem"), key = Path.Combine(dir, "r1", "relay-key.pem");
        async Task<GrayProcess> StartNodeAsync(int n)
        {
            var node = net.Start(relayHosts[n - 1], ["env", $"GRAY_REGISTRY={registry}", $"GRAY_CLUSTER_NODE_ID=n{n}",
                $"GRAY_CLUSTER_ADVERTISE={Node(n)}:{ControlPort}", "GRAY_CLUSTER_NODE_TIMEOUT=3s",
                .. n == 1 ? Array.Empty<string>() : [$"GRAY_TLS_CERTIFICATE={cert}", $"GRAY_TLS_KEY={key}"],
                "dotnet", Gray, "relay", "--data-dir", Path.Combine(dir, $"r{n}"), "--control",
                $"{Node(n)}:{ControlPort}", "--http", $"{Node(n)}:{HttpPort}", "--ports", "21000-21010",
                "--no-console"]);
            await node.WaitForLineAsync(l => l.StartsWith("gray relay: control", StringComparison.Ordinal),
                $"node {n} started", TimeSpan.FromSeconds(60));
            return node;
        }

        var nodes = new GrayProcess[3];
        nodes[0] = await StartNodeAsync(1);
        string fingerprint = nodes[0].Output.Split("certificate SHA-256 ")[1].Split('\n')[0].Trim();
        nodes[1] = await StartNodeAsync(2);
        nodes[2] = await StartNodeAsync(3);
        net.Start(agentHost, "python3", "-c", HostScripts.EchoService);

        async Task<JsonElement> AddAsync(int n, string id)
        {
            var (exit, text) = await net.RunOnAsync(relayHosts[n - 1], TimeSpan.FromSeconds(60), "dotnet", Gray,
                "admin", "add", id, "--json", "--data-dir", Path.Combine(dir, $"r{n}"));
            Assert.True(exit == 0, text);
            return JsonDocument.Parse(text.Trim().Split('\n')[^1]).RootElement;
        }

        GrayProcess StartAgent(JsonElement added, string relay, int maxNodes = 5) => net.Start(agentHost, "env",
            $"GRAY_SECRET={added.GetProperty("secret").GetString()}",
            $"GRAY_KNOWN_RELAYS={Path.Combine(dir, "known-" + added.GetProperty("id").GetString())}",
            "dotnet", Gray, "agent", "--relay", relay, "--fingerprint", fingerprint, "--max-nodes", $"{maxNodes}",
            "--id", added.GetProperty("id").GetString()!, "--target", "127.0.0.1:7007", "--pool", "2");

        async Task AdminAsync(int n, params string[] command)
        {
            var (exit, text) = await net.RunOnAsync(relayHosts[n - 1], TimeSpan.FromSeconds(60),
                ["dotnet", Gray, "admin", .. command, "--data-dir", Path.Combine(dir, $"r{n}")]);
            Assert.True(exit == 0, text);
        }

        async Task<string> EchoAsync(int port, int size, params int[] through)
        {
            var (_, text) = await net.RunOnAsync(clientHost, TimeSpan.FromSeconds(120), "python3", "-c",
                ClusterScripts.RetryingClient, string.Join(',', through.Select(Node)), port.ToString(),
                size.ToString());
            return text.Trim().Split('\n')[^1];
        }

        // 1. One name with three addresses: the agent serves on all three nodes; a client through each is served.
        var web = await AddAsync(1, "web");
        int webPort = web.GetProperty("clientPort").GetInt32();
        var webAgent = StartAgent(web, $"relays.gray.test:{ControlPort}");
        for (int n = 1; n <= 3; n++)
        {
            await webAgent.WaitForLineAsync(l => l.Contains($"is public on relay {Node(n)} "), $"web on node {n}",
                TimeSpan.FromSeconds(60));
        }
        for (int n = 1; n <= 3; n++)
        {
            int node = n;
            await Wait.UntilAsync(async () => await EchoAsync(webPort, 64 * 1024, node) == $"OK {Node(node)}",
                $"an echo through node {n}", TimeSpan.FromSeconds(30));
        }

        // 2. A server added on node 1 is known to node 3 within 2 s; its agent, given node 1 alone, learns the
        // other two and serves there.
        var poller = net.Start(relayHosts[2], "python3", "-c", ClusterScripts.ServerPoller,
            Path.Combine(dir, "r3", "admin.json"), "late", "30");
        await poller.WaitForLineAsync(l => l == "polling", "poller started");
        var late = await AddAsync(1, "late");
        double added = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string seenLine = await poller.WaitForLineAsync(l => l.StartsWith("seen ") || l == "not seen",
            "node 3 sees the new server", TimeSpan.FromSeconds(40));
        Assert.StartsWith("seen ", seenLine);
        double lag = double.Parse(seenLine[5..], System.Globalization.CultureInfo.InvariantCulture) - added;
        output.WriteLine($"server added on node 1 known to node 3 after {lag:0.000} s (from the add's end)");
        Assert.True(lag < 2, $"node 3 knew the server {lag:0.000} s after it was added");
        int latePort = late.GetProperty("clientPort").GetInt32();
        var lateAgent = StartAgent(late, $"{Node(1)}:{ControlPort}");
        for (int n = 2; n <= 3; n++)
        {
            await lateAgent.WaitForLineAsync(l => l.Contains($"is public on relay {Node(n)} "), $"late on node {n}",
                TimeSpan.FromSeconds(60));
        }
        Assert.Equal($"OK {Node(3)}", await EchoAsync(latePort, 64 * 1024, 3));

        // 3. Any node's API shows every node; a drain asked on node 1 refuses new clients on the node drained,
        // lets its pairs finish, and moves an agent that serves on two nodes at most onto the third.
        // Figures come with heartbeats (1 s apart), so the listing catches up within a couple of seconds.
        await Wait.UntilAsync(async () =>
        {
            var (_, listed) = await net.RunOnAsync(relayHosts[1], TimeSpan.FromSeconds(60), "dotnet", Gray, "admin",
                "nodes", "--json", "--data-dir", Path.Combine(dir, "r2"));
            var nodeList = JsonDocument.Parse(listed.Trim().Split('\n')[^1]).RootElement;
            return nodeList.GetProperty("self").GetString() == "n2"
                && nodeList.GetProperty("total").GetProperty("nodes").GetInt32() == 3
                && nodeList.GetProperty("nodes").EnumerateArray().All(node =>
                    node.GetProperty("health").GetString() == "live" && node.GetProperty("agents").GetInt32() == 2);
        }, "node 2 lists three live nodes with two agents each", TimeSpan.FromSeconds(15));

        var few = await AddAsync(1, "few");
        int fewPort = few.GetProperty("clientPort").GetInt32();
        var fewAgent = StartAgent(few, $"{Node(1)}:{ControlPort}", maxNodes: 2);
        // Besides node 1 (given), the node "few" ranks first of the two others; the drain moves it to the other.
        int joined = ClusterNodes.Rank("few", "n2") < ClusterNodes.Rank("few", "n3") ? 2 : 3;
        int spare = 5 - joined;
        await fewAgent.WaitForLineAsync(l => l.Contains($"is public on relay {Node(joined)} "),
            $"few on node {joined}", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain($"is public on relay {Node(spare)} ", fewAgent.Output);
        var draining = net.Start(clientHost, "python3", "-c", ClusterScripts.RetryingClient, Node(joined),
            webPort.ToString(), (16 * 1024 * 1024).ToString());
        await draining.WaitForLineAsync(l => l == $"flowing {Node(joined)}",
            $"a transfer through node {joined} flowing", TimeSpan.FromSeconds(60));
        await AdminAsync(1, "drain-node", $"n{joined}");
        await fewAgent.WaitForLineAsync(l => l.Contains($"is public on relay {Node(spare)} "),
            $"few moved to node {spare}", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => await EchoAsync(webPort, 1024, joined) == "FAIL",
            $"node {joined} refuses new clients", TimeSpan.FromSeconds(10));
        Assert.Equal($"OK {Node(joined)}", await draining.WaitForLineAsync(l => l.StartsWith("OK ") || l == "FAIL",
            "the transfer begun before the drain", TimeSpan.FromSeconds(120)));
        Assert.Equal($"OK {Node(spare)}", await EchoAsync(fewPort, 64 * 1024, spare));
        await AdminAsync(spare, "resume-node", $"n{joined}");
        await Wait.UntilAsync(async () => await EchoAsync(webPort, 1024, joined) == $"OK {Node(joined)}",
            $"node {joined} takes clients again", TimeSpan.FromSeconds(10));

        // 4. kill -9 node 2 during a transfer through it: the client retries on node 1 and loses nothing, and
        // new connections to the other nodes work at once.
        var transfer = net.Start(clientHost, "python3", "-c", ClusterScripts.RetryingClient,
            $"{Node(2)},{Node(1)}", webPort.ToString(), (48 * 1024 * 1024).ToString());
        await transfer.WaitForLineAsync(l => l == $"flowing {Node(2)}", "the transfer through node 2 flowing",
            TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        nodes[1].Signal(GrayProcess.SigKill);
        Assert.Equal($"OK {Node(3)}", await EchoAsync(webPort, 64 * 1024, 3));
        Assert.Equal($"OK {Node(1)}", await EchoAsync(latePort, 64 * 1024, 1));
        output.WriteLine($"after kill -9 of node 2: new connections through nodes 3 and 1 served within " +
            $"{clock.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal($"OK {Node(1)}", await transfer.WaitForLineAsync(l => l.StartsWith("OK ") || l == "FAIL",
            "the retried transfer", TimeSpan.FromSeconds(120)));

        // The node is gone for the cluster once its heartbeat is older than the node timeout (3 s here): the
        // agents are told, and leave it.
        await lateAgent.WaitForLineAsync(l => l.Contains("node n2 left the cluster"), "node 2 gone for the agent",
            TimeSpan.FromSeconds(30));
        output.WriteLine($"node 2 gone for the agents {clock.Elapsed.TotalSeconds:0.00} s after the kill");

        // 5. Node 2 comes back: agents rejoin it by themselves.
        clock.Restart();
        nodes[1] = await StartNodeAsync(2);
        double started = clock.Elapsed.TotalSeconds;
        foreach (int port in new[] { webPort, latePort })
        {
            await Wait.UntilAsync(async () => await EchoAsync(port, 64 * 1024, 2) == $"OK {Node(2)}",
                $"port {port} through the restarted node 2", TimeSpan.FromSeconds(60));
        }
        output.WriteLine($"node 2 restarted in {started:0.00} s; both tunnels served through it again " +
            $"{clock.Elapsed.TotalSeconds - started:0.00} s after it was ready");

        // 6. PostgreSQL restarts: the nodes serve their tunnels meanwhile, and follow the registry when it is back.
        int leftBefore = lateAgent.Output.Split('\n').Count(l => l.Contains("left the cluster"));
        var outage = Stopwatch.StartNew();
        await postgres.StopAsync();
        for (int n = 1; n <= 3; n++) Assert.Equal($"OK {Node(n)}", await EchoAsync(webPort, 64 * 1024, n));
        var refused = await net.RunOnAsync(relayHosts[0], TimeSpan.FromSeconds(60), "dotnet", Gray, "admin", "add",
            "during", "--data-dir", Path.Combine(dir, "r1"));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("registry postgres://", refused.Output);
        // The outage outlasts the node timeout (3 s): when it ends, every heartbeat in the table is old.
        var outlast = TimeSpan.FromSeconds(4) - outage.Elapsed;
        if (outlast > TimeSpan.Zero) await Task.Delay(outlast);
        await postgres.StartAgainAsync();
        var afterPoller = net.Start(relayHosts[2], "python3", "-c", ClusterScripts.ServerPoller,
            Path.Combine(dir, "r3", "admin.json"), "after", "60");
        await Wait.UntilAsync(async () => (await net.RunOnAsync(relayHosts[0], TimeSpan.FromSeconds(60), "dotnet",
                Gray, "admin", "add", "after", "--data-dir", Path.Combine(dir, "r1"))).ExitCode == 0,
            "an add once PostgreSQL is back", TimeSpan.FromSeconds(30));
        Assert.StartsWith("seen ", await afterPoller.WaitForLineAsync(l => l.StartsWith("seen ") || l == "not seen",
            "node 3 sees the server added after the restart", TimeSpan.FromSeconds(70)));
        for (int n = 1; n <= 3; n++) Assert.Equal($"OK {Node(n)}", await EchoAsync(webPort, 64 * 1024, n));
        Assert.Equal(3, await LiveNodesAsync(3));
        // No agent left a node for the outage: the nodes kept each other live until all had written again.
        Assert.Equal(leftBefore, lateAgent.Output.Split('\n').Count(l => l.Contains("left the cluster")));

        async Task<int> LiveNodesAsync(int n)
        {
            var (_, listed) = await net.RunOnAsync(relayHosts[n - 1], TimeSpan.FromSeconds(60), "dotnet", Gray,
                "admin", "nodes", "--json", "--data-dir", Path.Combine(dir, $"r{n}"));
            return JsonDocument.Parse(listed.Trim().Split('\n')[^1]).RootElement.GetProperty("total")
                .GetProperty("nodes").GetInt32();
        }
    }
}
