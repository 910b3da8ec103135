// /api/v1 on a live tunnel: what it lists matches the traffic, and what it changes takes effect.
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Gray.Relay.ControlPlane;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.ControlPlane;

public class ApiTests
{
    [Fact]
    public async Task Servers_agents_and_clients_are_listed_with_their_numbers_and_a_client_can_be_kicked()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 4, mux: true);
        using var api = tunnel.Relay.Api();
        var from = IPAddress.Parse("127.0.0.77");
        using var client = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: from);
        await client.SendAsync(new byte[1000]);
        await Tcp.ReadExactlyAsync(client, 1000);

        var list = await api.GetFromJsonAsync("/api/v1/servers", ApiJson.Default.ServerListView);
        Assert.Equal(tunnel.Relay.Options.MaxConnections, list!.Limits.MaxConnections);
        var server = Assert.Single(list.Servers);
        Assert.Equal("healthy", server.Id);
        Assert.Equal(1, server.ActivePairs);
        Assert.InRange(server.BytesIn, 1000, 1100); // and the health check's few bytes
        var agent = server.Agent!;
        Assert.Equal("127.0.0.1", agent.Address);
        Assert.StartsWith("gray/", agent.Software);
        Assert.True(agent.Mux);
        Assert.Equal(4, agent.PoolTarget);
        Assert.InRange(agent.ConnectedSince, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);

        var rules = await api.GetFromJsonAsync("/api/v1/servers/healthy/rules", ApiJson.Default.RulesView);
        Assert.Equal(tunnel.Relay.Options.RulesFor("healthy").MaxPool, rules!.MaxPool);
        Assert.Equal("3600s", rules.PairIdleTimeout);
        var viaAgent = await api.GetFromJsonAsync("/api/v1/servers/healthy/agent", ApiJson.Default.AgentView);
        Assert.Equal(agent.ConnectedSince, viaAgent!.ConnectedSince);

        var clients = await api.GetFromJsonAsync("/api/v1/servers/healthy/clients", ApiJson.Default.ListClientView);
        var seen = Assert.Single(clients!);
        Assert.Equal("127.0.0.77", seen.Address);
        Assert.Equal(((IPEndPoint)client.LocalEndPoint!).Port, seen.Port);
        Assert.Equal(1000, seen.BytesIn);
        Assert.Equal(1000, seen.BytesOut);

        using var kicked = await api.DeleteAsync($"/api/v1/servers/healthy/clients/{seen.Id}");
        Assert.Equal(1, (await kicked.Content.ReadFromJsonAsync(ApiJson.Default.KickResult))!.Kicked);
        Assert.True(await Tcp.IsClosedByPeerAsync(client));

        // By address: every connection from it.
        using var second = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: from);
        using var third = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: from);
        await Wait.UntilAsync(() => tunnel.Relay.Context.Manager.Find("healthy")!.Clients().Count == 2, "2 clients");
        using var byAddress = await api.PostAsync("/api/v1/servers/healthy/kick?client=127.0.0.77", null);
        Assert.Equal(2, (await byAddress.Content.ReadFromJsonAsync(ApiJson.Default.KickResult))!.Kicked);
        Assert.True(await Tcp.IsClosedByPeerAsync(second));
        Assert.True(await Tcp.IsClosedByPeerAsync(third));
        await tunnel.AssertHealthyAsync();
    }

    [Fact]
    public async Task Add_shows_the_secret_once_drain_refuses_clients_and_delete_frees_the_ports()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        using var api = tunnel.Relay.Api();
        using var created = await api.PostAsJsonAsync("/api/v1/servers", new AddServerRequest("fresh"),
            ApiJson.Default.AddServerRequest);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var added = (await created.Content.ReadFromJsonAsync(ApiJson.Default.AddedServerView))!;
        Assert.Equal(tunnel.Relay.Context.Registry.Find("fresh")!.Secret, added.Secret);
        Assert.Contains("--id fresh", added.AgentCommand);
        Assert.DoesNotContain(added.Secret, await api.GetStringAsync("/api/v1/servers"));
        Assert.DoesNotContain(added.Secret, await api.GetStringAsync("/api/v1/servers/fresh"));

        using var again = await api.PostAsJsonAsync("/api/v1/servers", new AddServerRequest("fresh"),
            ApiJson.Default.AddServerRequest);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already exists", await again.Content.ReadAsStringAsync());
        using var invalid = await api.PostAsJsonAsync("/api/v1/servers", new AddServerRequest("no spaces"),
            ApiJson.Default.AddServerRequest);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync("/api/v1/servers/healthy/drain", null)).StatusCode);
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort));
        var drained = await api.GetFromJsonAsync("/api/v1/servers/healthy", ApiJson.Default.ServerView);
        Assert.True(drained!.Draining);
        Assert.Equal(HttpStatusCode.NoContent,
            (await api.PostAsync("/api/v1/servers/healthy/resume", null)).StatusCode);
        await tunnel.AssertHealthyAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync("/api/v1/servers/fresh")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/api/v1/servers/fresh")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.DeleteAsync("/api/v1/servers/fresh")).StatusCode);
        Assert.True(TestRelay.IsFree(added.ClientPort!.Value));
    }

    [Fact]
    public async Task The_relay_reports_its_version_uptime_budgets_and_an_openapi_document()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        using var api = tunnel.Relay.Api();
        var status = await api.GetFromJsonAsync("/api/v1/relay", ApiJson.Default.RelayStatusView);
        Assert.Matches(@"^\d+\.\d+\.\d+$", status!.Version);
        Assert.True(status.UptimeSeconds >= 0);
        Assert.Equal(tunnel.Relay.Context.Fingerprint, status.Fingerprint);
        Assert.Equal(1, status.Connections.Agents);
        Assert.True(status.Connections.Total >= 3, "the agent's control and data connections are counted");
        Assert.Equal(tunnel.Relay.Options.EffectiveMaxPending, status.Limits.MaxPending);

        using var openApi = JsonDocument.Parse(await api.GetStringAsync("/openapi/v1.json"));
        var paths = openApi.RootElement.GetProperty("paths");
        foreach (string path in new[] { "/api/v1/servers", "/api/v1/servers/{id}/clients", "/api/v1/events",
            "/api/v1/tokens", "/api/v1/relay" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }
    }

    [Fact]
    public async Task A_token_made_through_the_api_works_until_it_is_revoked()
    {
        await using var relay = await InProcessRelay.StartAsync();
        using var admin = relay.Api();
        using var created = await admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("read", "grafana"),
            ApiJson.Default.CreateTokenRequest);
        var token = (await created.Content.ReadFromJsonAsync(ApiJson.Default.CreatedTokenView))!;
        Assert.Equal("read", token.Scope);
        using var grafana = relay.Api(token.Token);
        Assert.Equal(HttpStatusCode.OK, (await grafana.GetAsync("/metrics")).StatusCode);
        var listed = await admin.GetFromJsonAsync("/api/v1/tokens", ApiJson.Default.ListTokenView);
        Assert.Contains(listed!, t => t.Id == token.Id && t.Name == "grafana");
        Assert.DoesNotContain(token.Token, await admin.GetStringAsync("/api/v1/tokens"));
        using var badScope = await admin.PostAsJsonAsync("/api/v1/tokens", new CreateTokenRequest("root"),
            ApiJson.Default.CreateTokenRequest);
        Assert.Equal(HttpStatusCode.BadRequest, badScope.StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tokens/{token.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await grafana.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task Host_names_are_claimed_at_add_changed_later_and_a_second_claim_is_a_conflict()
    {
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        using var api = relay.Api();
        using var created = await api.PostAsJsonAsync("/api/v1/servers",
            new AddServerRequest("web", Hosts: ["App.Example.org", "*.preview.example.org"]),
            ApiJson.Default.AddServerRequest);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var added = (await created.Content.ReadFromJsonAsync(ApiJson.Default.AddedServerView))!;
        Assert.Null(added.ClientPort); // reached by name only
        Assert.Equal(["*.preview.example.org", "app.example.org"], added.Hosts);

        using var taken = await api.PostAsJsonAsync("/api/v1/servers",
            new AddServerRequest("other", Hosts: ["app.example.org"]), ApiJson.Default.AddServerRequest);
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
        Assert.Contains("already claimed by server 'web'",
            (await taken.Content.ReadFromJsonAsync(ApiJson.Default.ApiError))!.Error);
        using var bad = await api.PutAsJsonAsync("/api/v1/servers/web/hosts", new HostsRequest(["a b"]),
            ApiJson.Default.HostsRequest);
        Assert.Equal(HttpStatusCode.Conflict, bad.StatusCode);

        using var changed = await api.PutAsJsonAsync("/api/v1/servers/web/hosts",
            new HostsRequest(["web.example.org"]), ApiJson.Default.HostsRequest);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var view = await api.GetFromJsonAsync("/api/v1/servers/web", ApiJson.Default.ServerView);
        Assert.Equal(["web.example.org"], view!.Hosts);
        Assert.Equal("web", relay.Context.Registry.Hosts.Find("web.example.org"));
        using var missing = await api.PutAsJsonAsync("/api/v1/servers/nobody/hosts",
            new HostsRequest(["n.example.org"]), ApiJson.Default.HostsRequest);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
