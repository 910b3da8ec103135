// The pool's point: with ready data connections, a client costs no extra relay-agent round trip.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class PoolTests
{
    /// <summary>One-way delay the proxy adds between agent and relay.</summary>
    private static readonly TimeSpan LinkDelay = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task With_a_full_pool_the_banner_arrives_within_one_agent_round_trip()
    {
        await using var banner = new BannerService("220 hello\r\n");
        banner.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("far", []);
        // The agent reaches the relay only through the slow link, on 127.0.0.2, for control and data alike.
        var far = IPAddress.Parse("127.0.0.2");
        await using var controlLink = new DelayProxy(
            new IPEndPoint(far, relay.ControlPort), new IPEndPoint(IPAddress.Loopback, relay.ControlPort), LinkDelay);
        await using var dataLink = new DelayProxy(
            new IPEndPoint(far, server.DataPort), new IPEndPoint(IPAddress.Loopback, server.DataPort), LinkDelay);
        await relay.StartAgentAsync(server, banner.EndPoint, ["--pool", "4", "--fingerprint", relay.Fingerprint],
            relayAddress: $"127.0.0.2:{relay.ControlPort}");
        await Wait.UntilAsync(async () => await PoolReadyAsync(relay) == 4, "pool full");

        var roundTrip = 2 * LinkDelay;
        var watch = Stopwatch.StartNew();
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        Assert.Equal(banner.Banner, await Tcp.ReadExactlyAsync(client, banner.Banner.Length));
        watch.Stop();

        // The start frame must cross to the agent and the banner come back: one round trip, unavoidable.
        Assert.True(watch.Elapsed >= roundTrip - TimeSpan.FromMilliseconds(20),
            $"faster than the link allows: {watch.Elapsed}");
        // Asking for a data connection on demand would add at least one more round trip.
        Assert.True(
            watch.Elapsed < 2 * roundTrip, $"banner took {watch.Elapsed.TotalMilliseconds:0} ms: an extra round trip");
    }

    private static async Task<int> PoolReadyAsync(TestRelay relay)
    {
        var (_, shown) = await relay.AdminAsync("show", "--json");
        return JsonDocument.Parse(shown).RootElement.GetProperty("servers")[0]
            .GetProperty("agent").GetProperty("poolReady").GetInt32();
    }
}
