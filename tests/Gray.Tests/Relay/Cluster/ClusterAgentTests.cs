// An agent and two nodes, each with a certificate of its own: given one node, the agent trusts it on first
// use and pins the other to the hash the cluster gives; given both (a comma list) with both hashes pinned,
// it serves on both once, with no second session on either.
using System.Net;
using System.Text;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.Cluster;

[Collection(nameof(Postgres))]
public class ClusterAgentTests(PostgresFixture postgres)
{
    [PostgresFact]
    public async Task An_agent_given_one_node_serves_on_both_and_one_given_both_serves_on_each_once()
    {
        string registry = await postgres.DatabaseAsync();
        int portA = Gray.Testing.Ports.Free(), portB = Gray.Testing.Ports.Free();
        await using var a = await InProcessRelay.StartNodeAsync(registry, "a", "127.0.0.1", portA);
        await using var b = await InProcessRelay.StartNodeAsync(registry, "b", "127.0.0.2", portB);
        Assert.NotEqual(a.Context.Fingerprint, b.Context.Fingerprint);
        var web = a.Context.Registry.Add("web");
        await Wait.UntilAsync(() => b.Context.Registry.Find("web") is not null, "b knows web");
        await using var echo = new EchoService();
        echo.Start();
        string dir = Directory.CreateTempSubdirectory("gray-cluster-agent-").FullName;

        await using (var agent = GrayProcess.Start(["agent", "--relay", $"127.0.0.1:{portA}", "--id", "web",
                         "--target", $"127.0.0.1:{echo.EndPoint.Port}", "--pool", "1"], Environment(web, dir, "tofu")))
        {
            await agent.WaitForLineAsync(l => l.Contains("is public on relay 127.0.0.2"), "web on b (learned)");
            Assert.Contains("is public on relay 127.0.0.1", agent.Output);
            await EchoAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), web.ClientPort!.Value));
            // Only the node dialled first was trusted on first use; b was pinned to the cluster's word.
            string known = await File.ReadAllTextAsync(Path.Combine(dir, "tofu"));
            Assert.Contains(a.Context.Fingerprint, known);
            Assert.DoesNotContain(b.Context.Fingerprint, known);
        }

        await Wait.UntilAsync(() => a.Context.Manager.Find("web") is null && b.Context.Manager.Find("web") is null,
            "the first agent's sessions gone");
        await using var both = GrayProcess.Start(["agent", "--relay", $"127.0.0.1:{portA},127.0.0.2:{portB}",
            "--fingerprint", $"{a.Context.Fingerprint},{b.Context.Fingerprint}", "--id", "web",
            "--target", $"127.0.0.1:{echo.EndPoint.Port}", "--pool", "1"], Environment(web, dir, "pinned"));
        await both.WaitForLineAsync(l => l.Contains("is public on relay 127.0.0.2"), "web on b (given)");
        await both.WaitForLineAsync(l => l.Contains("is public on relay 127.0.0.1"), "web on a (given)");
        await EchoAsync(new IPEndPoint(IPAddress.Loopback, web.ClientPort!.Value));
        await EchoAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), web.ClientPort!.Value));
        Assert.DoesNotContain("joining node", both.Output); // both given: nothing to learn
        Assert.DoesNotContain("took over", both.Output);
    }

    private static Dictionary<string, string> Environment(ServerEntry server, string dir, string known) => new()
    {
        ["GRAY_SECRET"] = server.Secret,
        ["GRAY_KNOWN_RELAYS"] = Path.Combine(dir, known),
    };

    private static async Task EchoAsync(IPEndPoint endPoint)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(endPoint).WaitAsync(Tcp.Deadline);
        var stream = client.GetStream();
        byte[] hello = Encoding.ASCII.GetBytes("hello through " + endPoint);
        await stream.WriteAsync(hello).AsTask().WaitAsync(Tcp.Deadline);
        byte[] back = new byte[hello.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(Tcp.Deadline);
        Assert.Equal(hello, back);
    }
}
