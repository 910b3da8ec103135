// Two relay nodes in this process on one PostgreSQL: each lists both with their figures, a drain asked for
// on one node is applied by the other, and a node that stops leaves the list at once.
using System.Net;
using System.Net.Http.Json;
using Gray.Relay;
using Gray.Relay.ControlPlane;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.Cluster;

[Collection(nameof(Postgres))]
public class ClusterApiTests(PostgresFixture postgres)
{
    private static HttpClient Api(InProcessRelay relay)
    {
        var api = new HttpClient { BaseAddress = new Uri(relay.Admin.Url), Timeout = Tcp.Deadline };
        api.DefaultRequestHeaders.Authorization = new("Bearer", relay.Admin.Token);
        return api;
    }

    private static async Task<NodeListView> NodesAsync(HttpClient api) =>
        (await api.GetFromJsonAsync("/api/v1/nodes", ApiJson.Default.NodeListView))!;

    [PostgresFact]
    public async Task Every_node_lists_the_others_and_a_drain_asked_on_one_node_is_applied_by_another()
    {
        string registry = await postgres.DatabaseAsync();
        await using var a = await InProcessRelay.StartNodeAsync(registry, "a", "127.0.0.1");
        var b = await InProcessRelay.StartNodeAsync(registry, "b", "127.0.0.2");
        try
        {
            using var apiA = Api(a);
            using var apiB = Api(b);
            await Wait.UntilAsync(async () => (await NodesAsync(apiA)).Total.Nodes == 2, "a sees both nodes");
            var list = await NodesAsync(apiB);
            Assert.Equal("b", list.Self);
            Assert.Equal(["a", "b"], list.Nodes.Select(n => n.Id));
            Assert.All(list.Nodes, n => Assert.Equal("live", n.Health));
            Assert.Equal(a.Context.Fingerprint, list.Nodes[0].Fingerprint);
            Assert.Equal("127.0.0.2:44555", list.Nodes[1].Advertise);

            // The token of a's data directory works on b (tokens are in the shared registry); a drain asked
            // on a reaches b.
            using var aTokenOnB = new HttpClient { BaseAddress = new Uri(b.Admin.Url), Timeout = Tcp.Deadline };
            aTokenOnB.DefaultRequestHeaders.Authorization = new("Bearer", a.Admin.Token);
            Assert.Equal(HttpStatusCode.OK, (await aTokenOnB.GetAsync("/api/v1/nodes")).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await apiA.PostAsync("/api/v1/nodes/b/drain", null)).StatusCode);
            await Wait.UntilAsync(() => b.Context.DrainAll, "b applies the drain asked on a");
            Assert.False(a.Context.DrainAll);
            await Wait.UntilAsync(async () => (await NodesAsync(apiA)).Nodes.Single(n => n.Id == "b").Health ==
                "draining", "a sees b draining");
            Assert.Equal(HttpStatusCode.NoContent, (await apiB.PostAsync("/api/v1/nodes/b/resume", null)).StatusCode);
            await Wait.UntilAsync(() => !b.Context.DrainAll, "b resumed");
            Assert.Equal(HttpStatusCode.NotFound,
                (await apiA.PostAsync("/api/v1/nodes/nobody/drain", null)).StatusCode);

            // A server added on a is known to b as soon as the notification comes.
            using (var add = await apiA.PostAsJsonAsync("/api/v1/servers", new AddServerRequest("web", null, null),
                       ApiJson.Default.AddServerRequest))
            {
                Assert.Equal(HttpStatusCode.Created, add.StatusCode);
            }
            await Wait.UntilAsync(() => b.Context.Registry.Find("web") is not null, "b knows web",
                TimeSpan.FromSeconds(2));
        }
        finally
        {
            await b.DisposeAsync();
        }

        // b left: its row went with it, so a lists it no more at once (not after the node timeout).
        using var api = Api(a);
        await Wait.UntilAsync(async () => (await NodesAsync(api)).Nodes.Count == 1, "b gone from the list",
            TimeSpan.FromSeconds(1.5));
    }

    [PostgresFact]
    public async Task Limits_drains_and_deletes_on_one_node_reach_the_other_within_a_second()
    {
        string registry = await postgres.DatabaseAsync();
        await using var a = await InProcessRelay.StartNodeAsync(registry, "a", "127.0.0.2");
        await using var b = await InProcessRelay.StartNodeAsync(registry, "b", "127.0.0.1");
        var second = TimeSpan.FromSeconds(1);
        var web = a.Context.Registry.Add("web");
        await Wait.UntilAsync(() => b.Context.Registry.Find("web") is not null, "b knows web", second);
        await using var echo = new EchoService();
        echo.Start();
        await b.StartAgentAsync(new AddedServer("web", web.ClientPort!.Value, web.DataPort, web.Secret),
            echo.EndPoint, pool: 1, mux: true);

        a.Context.Registry.SetBandwidth("web", new Bandwidth(In: 1000));
        await Wait.UntilAsync(() => b.Context.BandwidthFor("web").In == 1000, "b takes web's limits", second);
        a.Context.Registry.SetDrained("web", true);
        await Wait.UntilAsync(() => b.Context.IsDraining("web"), "b drains web", second);
        a.Context.Registry.SetDrained("web", false);
        await Wait.UntilAsync(() => !b.Context.IsDraining("web"), "b resumes web", second);

        // Deleted on a: b drops the agent it holds for it.
        Assert.NotNull(b.Context.Manager.Find("web"));
        Assert.True(a.Context.Registry.Delete("web"));
        await Wait.UntilAsync(() => b.Context.Manager.Find("web") is null && b.Context.Registry.Find("web") is null,
            "b drops web's agent", second);
    }

    [Fact]
    public async Task A_relay_alone_lists_no_nodes()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        using var api = Api(relay);
        var list = await NodesAsync(api);
        Assert.Null(list.Self);
        Assert.Empty(list.Nodes);
        Assert.Equal(1, list.Total.Nodes);
        Assert.Equal(HttpStatusCode.Conflict, (await api.PostAsync("/api/v1/nodes/a/drain", null)).StatusCode);
    }
}
