// Handshake refusals, takeover by a newer agent, refusing targets, waiting clients and bad frames.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ProtocolTests
{
    [Fact]
    public async Task A_newer_agent_takes_over_and_running_pairs_keep_running()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("twice");
        var older = await relay.StartAgentAsync(server, echo.EndPoint);
        using var longPair = await Tcp.ConnectAsync(server.ClientPort);
        await longPair.SendAsync("one"u8.ToArray());
        Assert.Equal("one"u8.ToArray(), await Tcp.ReadExactlyAsync(longPair, 3));

        var newer = await relay.StartAgentAsync(server, echo.EndPoint);
        await older.WaitForLineAsync(l => l.Contains("another agent took over"), "older agent told");

        // The pair on the older agent goes on; new clients reach the newer agent.
        await longPair.SendAsync("still"u8.ToArray());
        Assert.Equal("still"u8.ToArray(), await Tcp.ReadExactlyAsync(longPair, 5));
        await AgentTests.AssertEchoAsync(server.ClientPort);
        Assert.False(older.HasExited);

        // Once its last pair ends, the older agent exits (1: it did not fail, but it no longer serves).
        longPair.Shutdown(SocketShutdown.Send);
        await Tcp.ReadToEndAsync(longPair);
        Assert.Equal(1, await older.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.False(newer.HasExited);
        await AgentTests.AssertEchoAsync(server.ClientPort);
    }

    [Fact]
    public async Task A_refusing_target_closes_the_client_and_is_logged()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("nobody-home");
        var closedPort = new IPEndPoint(IPAddress.Loopback, Ports.Free());
        var agent = await relay.StartAgentAsync(server, closedPort);
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        Assert.True(await Tcp.IsClosedByPeerAsync(client));
        await agent.WaitForLineAsync(
            l => l.Contains("refused pair") && l.Contains("Connection refused"), "reason logged");
    }

    [Fact]
    public async Task A_client_waits_for_a_data_connection_up_to_the_limit_then_is_closed()
    {
        await using var relay = new TestRelay(new() { ["client_wait_timeout"] = "1s" });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("empty-pool");
        // never opens data connections
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        var started = DateTime.UtcNow;
        Assert.True(await Tcp.IsClosedByPeerAsync(client));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(5));

        // A client that is waiting is paired as soon as a data connection arrives.
        using var patient = await Tcp.ConnectAsync(server.ClientPort);
        await patient.SendAsync("queued"u8.ToArray());
        await using var data = await agent.OpenDataAsync(FakeAgent.Preface(await agent.NextOtpAsync()));
        var start = new byte[Wire.StartFrameBytes];
        using var cts = new CancellationTokenSource(Tcp.Deadline);
        await data.ReadExactlyAsync(start, cts.Token);
        var queued = new byte[6];
        await data.ReadExactlyAsync(queued, cts.Token);
        Assert.Equal("queued"u8.ToArray(), queued);
    }

}
