// A relay at its process's descriptor limit: it fits max_connections under the limit (the runtime
// itself aborts when it has no descriptor left), so existing pairs go on, new connections are
// refused at once (not left hanging), and service comes back by itself when descriptors free up.
using System.Net.Sockets;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

[Collection(nameof(Heavy))]
public class ExhaustionTests(ITestOutputHelper output)
{
    /// <summary>Descriptors the relay process may hold: its own needs plus room for about 200 connections.</summary>
    private const int DescriptorLimit = 400;

    [Fact]
    public async Task A_relay_out_of_descriptors_keeps_its_pairs_sheds_new_connections_and_recovers()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(
            new() { ["max_connections"] = "10000" }, descriptorLimit: DescriptorLimit);
        await relay.StartAsync();
        string lowered = await relay.Process!.WaitForLineAsync(
            l => l.Contains("max_connections 10000 lowered to"), "limit fitted");
        output.WriteLine(lowered);
        var server = await relay.AddServerAsync("starved-of-descriptors");
        await relay.StartAgentAsync(server, echo.EndPoint, ["--pool", "2"]);
        using var running = await Tcp.ConnectAsync(server.ClientPort);
        await running.SendAsync("a"u8.ToArray());
        Assert.Equal("a"u8.ToArray(), await Tcp.ReadExactlyAsync(running, 1));

        // Open client connections until the relay cannot take more; each one that is shed is reset.
        var flood = new List<Socket>();
        int shed = 0;
        for (int i = 0; i < 1000 && shed < 20; i++)
        {
            try
            {
                var socket = await Tcp.ConnectAsync(server.ClientPort, from: Sources.Address(i / 100));
                if (await Tcp.IsClosedByPeerAsync(socket, TimeSpan.FromMilliseconds(100)))
                {
                    shed++;
                    socket.Dispose();
                }
                else
                {
                    flood.Add(socket);
                }
            }
            catch (SocketException)
            {
                shed++;
            }
        }

        output.WriteLine($"held {flood.Count} connections, {shed} shed at the limit of {DescriptorLimit} descriptors");
        Assert.True(shed >= 20, $"only {shed} connections were shed");
        // The fitted max_connections gives the clients their share, and one server half of it (the rest is
        // for other servers, the agents and unauthenticated connections): the flood stops there.
        var (_, shown) = await relay.AdminAsync("show", "--json");
        int perServer = System.Text.Json.JsonDocument.Parse(shown).RootElement.GetProperty("limits")
            .GetProperty("maxClientsPerServer").GetInt32();
        Assert.InRange(flood.Count, perServer - 10, perServer);
        Assert.False(relay.Process!.HasExited, "the relay died at its descriptor limit:\n"
            + string.Join("\n", relay.Process.Output.Split('\n').TakeLast(15)));

        // The pair from before goes on.
        await running.SendAsync("b"u8.ToArray());
        Assert.Equal("b"u8.ToArray(), await Tcp.ReadExactlyAsync(running, 1));

        // Descriptors come back: new clients are served again, without any restart.
        foreach (var socket in flood) socket.Dispose();
        await Wait.UntilAsync(
            () => AgentTests.TryEchoAsync(server.ClientPort), "served again", TimeSpan.FromSeconds(40));
        Assert.False(relay.Process.HasExited);
    }
}
