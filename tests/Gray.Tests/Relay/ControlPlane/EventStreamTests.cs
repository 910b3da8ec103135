// The event stream: the relay's happenings reach every subscriber in order, and one that falls behind
// is told so and dropped without slowing the others.
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Gray.Relay.ControlPlane;
using Gray.Relay.Events;
using Gray.Tests.Harness;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Tests.Relay.ControlPlane;

public class EventStreamTests
{
    [Fact]
    public async Task Drain_refusals_pairs_and_agents_arrive_as_server_sent_events_in_order()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        using var api = tunnel.Relay.Api();
        using var stream = await api.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        Assert.StartsWith(":", await reader.ReadLineAsync()); // the stream's opening comment
        await Wait.UntilAsync(() => tunnel.Relay.Context.Events.SubscriberCount == 1, "the subscription");

        var events = new List<RelayEvent>();
        long last = 0;
        async Task ReadUntilAsync(string type)
        {
            while (!events.Any(e => e.Type == type))
            {
                var (id, item) = await ReadEventAsync(reader);
                Assert.True(id > last, "ids increase");
                last = id;
                events.Add(item);
            }
        }

        await api.PostAsync("/api/v1/servers/healthy/drain", null);
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.0.9")));
        // The client sees the reset before the relay may have published it: the resume waits for the event.
        await ReadUntilAsync(RelayEventTypes.Refused);
        await api.PostAsync("/api/v1/servers/healthy/resume", null);
        using (var client = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.0.8")))
        {
            await client.SendAsync("hello"u8.ToArray());
            await Tcp.ReadExactlyAsync(client, 5);
            client.Shutdown(SocketShutdown.Send);
            await Tcp.ReadToEndAsync(client);
        }

        await ReadUntilAsync(RelayEventTypes.PairClosed); // the pair ends once both directions have
        await tunnel.Agent.DisposeAsync();
        await ReadUntilAsync(RelayEventTypes.AgentDisconnected);

        // The tunnel's own check before the test may close its pair after the subscription began.
        events = [.. events.SkipWhile(e => e.Type == RelayEventTypes.PairClosed)];
        var types = events.Select(e => e.Type).ToList();
        Assert.Equal([RelayEventTypes.Drained, RelayEventTypes.Refused, RelayEventTypes.Resumed,
            RelayEventTypes.PairOpened, RelayEventTypes.PairClosed, RelayEventTypes.AgentDisconnected], types);
        Assert.Equal("127.0.0.9", events[1].Client);
        Assert.Equal("draining", events[1].Reason);
        var closed = events[4];
        Assert.Equal(("healthy", "127.0.0.8", 5L, 5L), (closed.Server, closed.Client, closed.BytesIn, closed.BytesOut));

        await tunnel.Relay.StartAgentAsync(tunnel.Server, tunnel.Echo.EndPoint, pool: 2);
        RelayEvent connected;
        do connected = (await ReadEventAsync(reader)).Event;
        while (connected.Type != RelayEventTypes.AgentConnected);
        Assert.Equal(("healthy", "127.0.0.1"), (connected.Server, connected.Client));
    }

    [Fact]
    public async Task A_configuration_reload_is_an_event_that_says_what_changed_or_why_it_was_refused()
    {
        await using var relay = new TestRelay(new() { ["max_connections"] = "400" });
        await relay.StartAsync();
        using var api = new HttpClient { BaseAddress = new Uri(relay.Admin.Url), Timeout = Tcp.Deadline };
        api.DefaultRequestHeaders.Authorization = new("Bearer", relay.Admin.Token);
        using var stream = await api.GetAsync("/api/v1/events", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();

        await File.WriteAllTextAsync(relay.ConfigPath, "max_connections: 500\n");
        var reloaded = (await ReadEventAsync(reader)).Event;
        Assert.Equal(RelayEventTypes.ConfigReloaded, reloaded.Type);
        Assert.Contains("max_connections 400 → 500", reloaded.Reason);

        await File.WriteAllTextAsync(relay.ConfigPath, "max_connections: [broken\n");
        // One write may reach the watcher as two changes: the second reload of the same file changes nothing.
        RelayEvent refused;
        int read = 0;
        do refused = (await ReadEventAsync(reader)).Event;
        while (refused.Reason == "nothing changed" && ++read < 5);
        Assert.Equal(RelayEventTypes.ConfigReloaded, refused.Type);
        Assert.StartsWith("refused: ", refused.Reason);
    }

    [Fact]
    public void A_subscriber_that_falls_behind_is_dropped_and_the_others_get_everything()
    {
        var hub = new RelayEventHub(new FakeTimeProvider());
        using var slow = hub.Subscribe()!;
        using var fast = hub.Subscribe()!;
        int received = 0;
        for (int i = 0; i < RelayEventHub.QueueEvents + 10; i++)
        {
            hub.Publish(RelayEventTypes.PairOpened, "s");
            while (fast.Events.TryRead(out _)) received++;
        }

        Assert.Equal(RelayEventHub.QueueEvents + 10, received);
        Assert.True(slow.WasDropped);
        Assert.Equal(1, hub.SubscriberCount);
        int unread = 0;
        while (slow.Events.TryRead(out _)) unread++;
        Assert.Equal(RelayEventHub.QueueEvents, unread); // what it had queued, then the end
        Assert.True(slow.Events.Completion.IsCompleted);
    }

    [Fact]
    public void Refusals_are_published_at_a_bounded_rate_and_subscribers_are_bounded()
    {
        var clock = new FakeTimeProvider();
        var hub = new RelayEventHub(clock);
        using var subscriber = hub.Subscribe()!;
        for (int i = 0; i < 1000; i++) hub.Publish(RelayEventTypes.Refused, "s", IPAddress.Loopback, reason: "denied");
        clock.Advance(TimeSpan.FromSeconds(1));
        hub.Publish(RelayEventTypes.Refused, "s", IPAddress.Loopback, reason: "denied");
        int count = 0;
        while (subscriber.Events.TryRead(out _)) count++;
        Assert.Equal(RelayEventHub.RefusalsPerSecond + 1, count);

        var more = Enumerable.Range(0, RelayEventHub.MaxSubscribers).Select(_ => hub.Subscribe()).ToList();
        Assert.Null(more[^1]);
        foreach (var s in more) s?.Dispose();
    }

    private static async Task<(long Id, RelayEvent Event)> ReadEventAsync(StreamReader reader)
    {
        long id = 0;
        string? type = null;
        using var deadline = new CancellationTokenSource(Tcp.Deadline);
        while (await reader.ReadLineAsync(deadline.Token) is { } line)
        {
            if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line[4..]);
            else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var item = JsonSerializer.Deserialize(line[6..], ApiJson.Default.RelayEvent)!;
                Assert.Equal(type, item.Type);
                Assert.Equal(id, item.Sequence);
                return (id, item);
            }
        }

        throw new EndOfStreamException("the event stream ended");
    }
}
