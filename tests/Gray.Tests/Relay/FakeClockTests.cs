// The relay's deadlines on a clock the test drives: OTP expiry, the agent's ping timeout and the
// client's wait for a data connection pass only when the test advances the clock, with no sleeps.
using System.Net.Sockets;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay;

public class FakeClockTests
{
    private static readonly TimeSpan HousekeepingStep = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task An_otp_expires_after_its_lifetime_and_a_fresh_one_is_admitted()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.OtpLifetime = TimeSpan.FromSeconds(30);
            o.PingTimeout = TimeSpan.FromHours(1);
            o.PingInterval = TimeSpan.FromHours(1);
        });
        var server = relay.AddServer("web");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        byte[] stale = await agent.NextOtpAsync();
        var tunnel = await relay.TunnelAsync("web");

        relay.Advance(TimeSpan.FromSeconds(31), HousekeepingStep); // past the lifetime: housekeeping issues a new one
        // On a busy machine the housekeeping loop may wake after the last step and wait for a time that the
        // still clock never reaches: the clock moves on, a step at a time, until the new OTP comes.
        var next = agent.NextOtpAsync();
        await Wait.UntilAsync(() =>
        {
            if (next.IsCompleted) return true;
            relay.Time.Advance(HousekeepingStep);
            return false;
        }, "a fresh OTP after the stale one expired");
        byte[] fresh = await next;

        await using var refused = await agent.OpenDataAsync(agent.Open(stale));
        Assert.True(await FakeAgent.IsClosedAsync(refused, Tcp.Deadline));
        await using var admitted = await agent.OpenDataAsync(agent.Open(fresh));
        await Wait.UntilAsync(() => tunnel.ReadyCount == 1, "the fresh OTP's connection in the pool");
    }

    [Fact]
    public async Task An_agent_silent_past_the_ping_timeout_loses_its_tunnel()
    {
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.PingInterval = TimeSpan.FromSeconds(10);
            o.PingTimeout = TimeSpan.FromSeconds(30);
        });
        var server = relay.AddServer("web");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        var tunnel = await relay.TunnelAsync("web");

        relay.Advance(TimeSpan.FromSeconds(29), HousekeepingStep);
        Assert.NotNull(relay.Context.Manager.Find("web")); // silent, but not for long enough yet

        // Past the timeout the clock moves on in steps until the tunnel is given up: a housekeeping pass that
        // woke after the last step waits for a time a still clock would never reach (bounded: 20 s more).
        for (int i = 0; i < 40 && !tunnel.Stopped.IsCompleted; i++)
        {
            relay.Time.Advance(TimeSpan.FromSeconds(0.5));
            await Task.WhenAny(tunnel.Stopped, Task.Delay(50));
        }

        Assert.Null(relay.Context.Manager.Find("web"));
        Assert.True(await agent.IsControlClosedAsync(Tcp.Deadline));
    }

    [Fact]
    public async Task A_client_that_waits_past_client_wait_timeout_is_closed()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.ClientWaitTimeout = TimeSpan.FromSeconds(10));
        var server = relay.AddServer("web");
        // opens no data connection
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        var tunnel = await relay.TunnelAsync("web");
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        await Wait.UntilAsync(() => tunnel.WaitingCount == 1, "the client in the waiting queue");

        relay.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(1, tunnel.WaitingCount);

        // Past the timeout the clock moves on in steps: a housekeeping pass that woke after a single jump
        // would wait for a time a still clock never reaches (bounded: 20 s more).
        for (int i = 0; i < 40 && tunnel.WaitingCount > 0; i++)
        {
            relay.Time.Advance(TimeSpan.FromSeconds(0.5));
            await Task.Delay(50);
        }

        Assert.True(await Tcp.IsClosedByPeerAsync(client, Tcp.Deadline));
        Assert.Equal(0, tunnel.WaitingCount);
    }

    [Fact]
    public async Task A_pair_that_carries_nothing_for_the_default_pair_idle_timeout_is_closed()
    {
        var idle = Gray.Relay.ServerRules.DefaultPairIdleTimeout; // on by default: idle pairs cost no one forever
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.PingTimeout = TimeSpan.FromHours(10);
            o.PingInterval = TimeSpan.FromHours(10);
        });
        var server = relay.AddServer("web");
        await using var agent = await FakeAgent.ConnectAsync(relay.ControlPort, server, pool: 1);
        var tunnel = await relay.TunnelAsync("web");
        await using var data = await agent.OpenDataAsync(agent.Open(await agent.NextOtpAsync()));
        await Wait.UntilAsync(() => tunnel.ReadyCount == 1, "the data connection in the pool");
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        var start = new byte[64];
        Assert.True(await data.ReadAsync(start) > 0); // the start frame: the pair runs
        await Wait.UntilAsync(() => tunnel.ActivePairs == 1, "the pair running");

        // The watchdog looks every quarter of the timeout; the pair must outlive the timeout, then end.
        var step = idle / 4;
        var advanced = await relay.AdvanceUntilClosedAsync(client, step);

        Assert.InRange(advanced, idle, idle + 2 * step);
        await Wait.UntilAsync(() => tunnel.ActivePairs == 0, "the pair ended");
    }
}
