// Floods that used to lock everybody out (the security issue's table), run from several loopback source
// addresses as an outside attacker would use several hosts. While each runs, another tenant's clients are
// served, a new agent logs in and serves, and the admin endpoint answers.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gray.Relay.ControlPlane;
using Gray.Tests.Harness;

namespace Gray.Tests.Adversarial;

public class BudgetTests
{
    /// <summary>Smaller than the default 1,000 so that the floods are quick; every budget scales with it.</summary>
    private const int MaxConnections = 200;

    [Fact]
    public async Task Twenty_addresses_of_idle_connections_to_the_control_port_lock_nobody_out()
    {
        await using var world = await World.StartAsync();
        var flood = new List<Socket>();
        for (int host = 0; host < 20; host++)
        {
            for (int i = 0; i < 64; i++) flood.Add(await ConnectOrNullAsync(world.Relay.ControlPort, Source(host)));
        }

        await world.AssertEveryoneIsServedAsync("after 1,280 idle connections to the control port");
        Assert.True(world.Relay.Context.Pending.Evicted > 0);
        Assert.InRange(world.Relay.Context.Pending.Count, 0, world.Relay.Options.EffectiveMaxPending);
        Dispose(flood);
    }

    [Fact]
    public async Task Four_addresses_flooding_one_tenants_client_port_leave_the_other_tenants_room()
    {
        await using var world = await World.StartAsync();
        var flood = new List<Socket>();
        for (int host = 0; host < 4; host++)
        {
            for (int i = 0; i < 256; i++) flood.Add(await ConnectOrNullAsync(world.Victim.ClientPort, Source(host)));
        }

        await world.AssertEveryoneIsServedAsync("after 1,024 idle clients on one tenant's port");
        Assert.InRange(world.Relay.Context.Clients.Current, 1, world.Relay.Options.EffectiveMaxClientsPerServer + 2);
        Dispose(flood);
    }

    [Fact]
    public async Task A_neighbour_behind_the_agents_own_address_cannot_keep_it_from_logging_in()
    {
        await using var world = await World.StartAsync();
        var loopback = IPAddress.Loopback; // the agents' address, shared by the "neighbour"
        var flood = new List<Socket>();
        for (int i = 0; i < 200; i++) flood.Add(await ConnectOrNullAsync(world.Relay.ControlPort, loopback));
        for (int i = 0; i < 100; i++) flood.Add(await ConnectOrNullAsync(world.Victim.DataPort, loopback));

        await world.AssertEveryoneIsServedAsync("with pre-auth connections from the agents' own address");
        Dispose(flood);
    }

    [Fact]
    public async Task A_hundred_idle_control_plane_connections_do_not_keep_the_administrator_out()
    {
        await using var world = await World.StartAsync();
        var admin = world.AdminEndPoint();
        var flood = new List<Socket>();
        for (int i = 0; i < 100; i++) flood.Add(await ConnectOrNullAsync(admin.Port, Source(40)));
        await world.AssertEveryoneIsServedAsync("with 100 idle control plane connections");
        Dispose(flood);
    }

    private static IPAddress Source(int host) => IPAddress.Parse($"127.0.{10 + host}.1");

    // A refused or reset connect is part of a flood, not a failure of the test.
    private static async Task<Socket> ConnectOrNullAsync(int port, IPAddress from)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(from, 0));
            using var cts = new CancellationTokenSource(Tcp.Deadline);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        }
        catch (SocketException)
        {
        }

        return socket;
    }

    private static void Dispose(List<Socket> sockets)
    {
        foreach (var socket in sockets) socket.Dispose();
    }

    /// <summary>A relay with two tenants, the "victim" under attack and a bystander, each with an agent.</summary>
    private sealed class World : IAsyncDisposable
    {
        private readonly InProcessHealthyTunnel _tunnel; // its server is the bystander

        private World(InProcessHealthyTunnel tunnel, AddedServer victim)
        {
            _tunnel = tunnel;
            Victim = victim;
        }

        public InProcessRelay Relay => _tunnel.Relay;

        public AddedServer Victim { get; }

        public AddedServer Bystander => _tunnel.Server;

        public static async Task<World> StartAsync()
        {
            // The victim keeps a separate data port, so that it can be flooded too; the bystander's data
            // connections come to the control port, with the flood there.
            var tunnel = await InProcessHealthyTunnel.StartAsync(o =>
            {
                o.MaxConnections = MaxConnections;
                o.Servers["victim"] = new Gray.Relay.ServerRules { SeparateDataPort = true };
            }, pool: 2);
            var victim = tunnel.Relay.AddServer("victim");
            await tunnel.Relay.StartAgentAsync(victim, tunnel.Echo.EndPoint, pool: 2);
            return new World(tunnel, victim);
        }

        public IPEndPoint AdminEndPoint()
        {
            var url = new Uri(ReadAdminFile().Url);
            return new IPEndPoint(IPAddress.Parse(url.Host), url.Port);
        }

        public async Task AssertEveryoneIsServedAsync(string during)
        {
            // The other tenant's clients.
            await Wait.UntilAsync(() => AgentTests.TryEchoAsync(Bystander.ClientPort), $"bystander served {during}");
            // A new agent logs in, fills its pool and serves.
            var newcomer = Relay.AddServer($"newcomer-{Guid.NewGuid():N}"[..20]);
            await Relay.StartAgentAsync(newcomer, _tunnel.Echo.EndPoint, pool: 2);
            await Wait.UntilAsync(() => AgentTests.TryEchoAsync(newcomer.ClientPort), $"newcomer served {during}");
            // The admin endpoint answers.
            Assert.True(await AdminAnswersAsync(), $"the admin endpoint did not answer {during}");
        }

        private async Task<bool> AdminAnswersAsync()
        {
            var file = ReadAdminFile();
            using var http = new HttpClient { Timeout = Tcp.Deadline };
            http.DefaultRequestHeaders.Authorization = new("Bearer", file.Token);
            using var response = await http.GetAsync(file.Url + "/api/v1/servers");
            return response.IsSuccessStatusCode;
        }

        private AdminEndpointFile ReadAdminFile() => JsonSerializer.Deserialize(
            File.ReadAllText(Path.Combine(Relay.Options.DataDir, AdminEndpointFile.FileName)),
            ApiJson.Default.AdminEndpointFile)!;

        public ValueTask DisposeAsync() => _tunnel.DisposeAsync();
    }
}
