// Refusing targets and waiting clients, relay and agent in this process. (Handshake refusals are in
// Adversarial/AuthTests; takeover by a newer agent in MuxTests, pooled and multiplexed.)
using System.Net;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ProtocolTests
{
    [Fact]
    public async Task A_refusing_target_closes_the_client_and_the_pool_stays_full()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("nobody-home");
        var closedPort = new IPEndPoint(IPAddress.Loopback, Ports.Free());
        await relay.StartAgentAsync(server, closedPort, pool: 2);
        var tunnel = await relay.TunnelAsync(server.Id);
        for (int i = 0; i < 3; i++)
        {
            using var client = await Tcp.ConnectAsync(server.ClientPort);
            Assert.True(await Tcp.IsClosedByPeerAsync(client));
        }

        await Wait.UntilAsync(() => tunnel.ReadyCount == 2 && tunnel.ActivePairs == 0, "the pool refilled");
    }

    [Fact]
    public async Task A_waiting_client_is_paired_as_soon_as_a_data_connection_arrives()
    {
        await using var relay = await InProcessRelay.StartAsync(); // the clock stands still: no wait expires
        var server = relay.AddServer("empty-pool");
        // never opens data connections
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        var tunnel = await relay.TunnelAsync(server.Id);
        using var patient = await Tcp.ConnectAsync(server.ClientPort);
        await patient.SendAsync("queued"u8.ToArray());
        await Wait.UntilAsync(() => tunnel.WaitingCount == 1, "the client waiting");

        await using var data = await agent.OpenDataAsync(agent.Open(await agent.NextOtpAsync()));
        var start = new byte[Wire.StartFrameBytes];
        using var cts = new CancellationTokenSource(Tcp.Deadline);
        await data.ReadExactlyAsync(start, cts.Token);
        Assert.Equal(((IPEndPoint)patient.LocalEndPoint!).Port, Start.Decode(start).Client.Port);
        var queued = new byte[6];
        await data.ReadExactlyAsync(queued, cts.Token);
        Assert.Equal("queued"u8.ToArray(), queued);
    }
}
