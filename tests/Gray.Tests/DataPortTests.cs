// Data connections must present a valid OTP: wrong, replayed, expired or missing ones are closed, never
// paired; on the control port (the default) and on a separate data port alike. The relay runs in this
// process on a clock the test moves, so the deadlines pass without sleeping.
using System.Security.Cryptography;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class DataPortTests
{
    private static readonly TimeSpan CloseWithin = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan OtpStep = TimeSpan.FromMilliseconds(250);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bad_otps_and_silence_are_closed_and_only_the_valid_connection_is_paired(bool separate)
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.DefaultRules = o.DefaultRules with { SeparateDataPort = separate };
            o.OtpTimeout = TimeSpan.FromSeconds(1);
            o.HelloTimeout = TimeSpan.FromSeconds(1); // the first frame's deadline on the control port
            o.OtpLifetime = TimeSpan.FromSeconds(2);
            o.PingInterval = o.PingTimeout = TimeSpan.FromHours(1);
        });
        var server = relay.AddServer("otp");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 2);
        Assert.Equal(separate ? server.DataPort : 0, agent.Welcome.DataPort);

        // Wrong: a random OTP the relay never issued.
        await using var wrong = await agent.OpenDataAsync(
            agent.Open(RandomNumberGenerator.GetBytes(Wire.OtpBytes)));
        Assert.True(await FakeAgent.IsClosedAsync(wrong, CloseWithin), "a wrong OTP was kept");

        // Silence: no OTP at all within the deadline. The clock moves in steps until the relay closes it
        // (its deadline starts when the relay side of the handshake ends); never before the deadline.
        await using var silent = await agent.OpenDataAsync(preface: null);
        var waited = TimeSpan.Zero;
        for (int i = 0; i < 40 && !await FakeAgent.IsClosedAsync(silent, TimeSpan.FromMilliseconds(100)); i++)
        {
            relay.Time.Advance(OtpStep);
            waited += OtpStep;
        }

        Assert.InRange(waited, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));

        // Valid, then replayed: the second use of the same OTP is refused.
        byte[] otp = await agent.NextOtpAsync();
        await using var valid = await agent.OpenDataAsync(agent.Open(otp));
        var tunnel = await relay.TunnelAsync("otp");
        // then the replay comes second
        await Wait.UntilAsync(() => tunnel.ReadyCount == 1, "the valid connection in the pool");
        await using var replay = await agent.OpenDataAsync(agent.Open(otp));
        Assert.True(await FakeAgent.IsClosedAsync(replay, CloseWithin), "a replayed OTP was accepted");

        // Expired: an OTP held past its 2 s lifetime.
        byte[] stale = await agent.NextOtpAsync();
        relay.Advance(TimeSpan.FromSeconds(2.5), OtpStep);
        await using var expired = await agent.OpenDataAsync(agent.Open(stale));
        Assert.True(await FakeAgent.IsClosedAsync(expired, CloseWithin), "an expired OTP was accepted");

        // A client is paired with the one valid connection: the start frame arrives there.
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        var start = new byte[Wire.StartFrameBytes];
        using var cts = new CancellationTokenSource(Tcp.Deadline);
        await valid.ReadExactlyAsync(start, cts.Token);
        Assert.Equal(client.LocalEndPoint, Start.Decode(start).Client);
        await valid.WriteAsync("from the agent"u8.ToArray());
        Assert.Equal("from the agent"u8.ToArray(), await Tcp.ReadExactlyAsync(client, 14));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_otp_is_bound_to_its_server(bool separate)
    {
        await using var relay = await InProcessRelay.StartAsync(
            o => o.DefaultRules = o.DefaultRules with { SeparateDataPort = separate });
        var first = relay.AddServer("first");
        var second = relay.AddServer("second");
        await using var agentA = await FakeAgent.ConnectAsync(relay.ControlPort, first, pool: 1);
        await using var agentB = await FakeAgent.ConnectAsync(relay.ControlPort, second, pool: 1);
        byte[] otpOfA = await agentA.NextOtpAsync();
        // Presented for B (on B's data port, or named B on the control port), A's OTP means nothing.
        await using var crossed = await agentB.OpenDataAsync(agentB.Open(otpOfA));
        Assert.True(await FakeAgent.IsClosedAsync(crossed, CloseWithin));
    }

    [Fact]
    public async Task By_default_agents_need_only_the_control_port_and_no_data_port_is_bound()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 4);
        Assert.True(TestRelay.IsFree(tunnel.Server.DataPort), "a data port was bound");
        for (int i = 0; i < 10; i++) await AgentTests.AssertEchoAsync(tunnel.Server.ClientPort); // past the pool
    }

    [Fact]
    public async Task An_agent_of_protocol_2_gets_the_servers_own_data_port()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("older");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1, version: 2);
        Assert.Equal(server.DataPort, agent.Welcome.DataPort);
        await using var data = await agent.OpenDataAsync(FakeAgent.Preface(await agent.NextOtpAsync()));
        var tunnel = await relay.TunnelAsync("older");
        await Wait.UntilAsync(() => tunnel.ReadyCount == 1, "the version 2 data connection in the pool");
    }
}
