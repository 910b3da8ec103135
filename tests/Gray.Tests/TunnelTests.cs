// The tunnel end to end: relay, agents and services in this process, over real loopback sockets.
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Tests.Harness;

namespace Gray.Tests;

/// <summary>One relay with four servers, each with its agent and its kind of service.</summary>
public class TunnelFixture : IAsyncLifetime
{
    /// <summary>Pooled data connections here, multiplexed ones in <see cref="MuxTunnelFixture"/>.</summary>
    protected virtual bool Mux => false;

    public InProcessRelay Relay { get; private set; } = null!;

    public EchoService Echo { get; } = new();

    public BannerService Banner { get; } = new("SSH-2.0-GrayTest\r\n");

    public HashService Hash { get; } = new();

    public ClosingFirstService ClosingFirst { get; } = new();

    public AddedServer EchoServer { get; private set; } = null!;

    public AddedServer BannerServer { get; private set; } = null!;

    public AddedServer HashServer { get; private set; } = null!;

    public AddedServer ClosingServer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        foreach (var service in new Gray.Net.TcpServer[] { Echo, Banner, Hash, ClosingFirst }) service.Start();
        Relay = await InProcessRelay.StartAsync(o => o.AllowPlainData = true, clock: TimeProvider.System);
        EchoServer = Relay.AddServer("echo");
        BannerServer = Relay.AddServer("banner");
        HashServer = Relay.AddServer("hash");
        ClosingServer = Relay.AddServer("closing");
        await Task.WhenAll(
            Relay.StartAgentAsync(EchoServer, Echo.EndPoint, pool: 16, mux: Mux),
            Relay.StartAgentAsync(BannerServer, Banner.EndPoint, mux: Mux),
            Relay.StartAgentAsync(HashServer, Hash.EndPoint, mux: Mux),
            Relay.StartAgentAsync(ClosingServer, ClosingFirst.EndPoint, mux: Mux, plainData: true));
    }

    public async Task DisposeAsync()
    {
        await Relay.DisposeAsync();
        foreach (var service in new Gray.Net.TcpServer[] { Echo, Banner, Hash, ClosingFirst })
            await service.DisposeAsync();
    }
}

/// <summary>The same relay and agents, every tunneled connection a channel of a multiplexed data connection.</summary>
public sealed class MuxTunnelFixture : TunnelFixture
{
    protected override bool Mux => true;
}

public sealed class TunnelTests(TunnelFixture tunnel) : TunnelContract(tunnel), IClassFixture<TunnelFixture>;

public sealed class MuxTunnelTests(MuxTunnelFixture tunnel) : TunnelContract(tunnel), IClassFixture<MuxTunnelFixture>;

/// <summary>What every tunnel must do, whatever its data connections.</summary>
public abstract class TunnelContract(TunnelFixture tunnel)
{
    [Fact]
    public async Task An_echo_service_answers_through_the_tunnel()
    {
        using var client = await Tcp.ConnectAsync(tunnel.EchoServer.ClientPort);
        await client.SendAsync("hello, gray"u8.ToArray());
        Assert.Equal("hello, gray"u8.ToArray(), await Tcp.ReadExactlyAsync(client, 11));
    }

    [Fact]
    public async Task Sixty_four_MiB_each_way_arrive_identical()
    {
        const int size = 64 * 1024 * 1024;
        byte[] payload = RandomNumberGenerator.GetBytes(size);
        using var client = await Tcp.ConnectAsync(tunnel.EchoServer.ClientPort);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(payload);
            client.Shutdown(SocketShutdown.Send);
        });
        byte[] echoed = await Tcp.ReadToEndAsync(client);
        await sending;
        Assert.Equal(size, echoed.Length);
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
    }

    [Fact]
    public async Task A_hundred_concurrent_clients_each_move_one_MiB_intact()
    {
        await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            byte[] payload = RandomNumberGenerator.GetBytes(1024 * 1024);
            using var client = await Tcp.ConnectAsync(tunnel.HashServer.ClientPort);
            await client.SendAsync(payload);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(SHA256.HashData(payload), await Tcp.ReadToEndAsync(client));
        }));
    }

    [Fact]
    public async Task A_service_that_speaks_first_sends_its_banner()
    {
        using var client = await Tcp.ConnectAsync(tunnel.BannerServer.ClientPort);
        Assert.Equal(tunnel.Banner.Banner, await Tcp.ReadExactlyAsync(client, tunnel.Banner.Banner.Length));
        await client.SendAsync("after banner"u8.ToArray());
        Assert.Equal("after banner"u8.ToArray(), await Tcp.ReadExactlyAsync(client, 12));
    }

    [Fact]
    public async Task Client_half_close_still_gets_the_reply()
    {
        byte[] payload = RandomNumberGenerator.GetBytes(300_000);
        using var client = await Tcp.ConnectAsync(tunnel.HashServer.ClientPort);
        await client.SendAsync(payload);
        client.Shutdown(SocketShutdown.Send); // the service answers only after it sees this FIN
        Assert.Equal(SHA256.HashData(payload), await Tcp.ReadToEndAsync(client));
    }

    [Fact]
    public async Task Service_half_close_still_gets_the_clients_bytes()
    {
        using var client = await Tcp.ConnectAsync(tunnel.ClosingServer.ClientPort);
        Assert.Equal("goodbye"u8.ToArray(), await Tcp.ReadToEndAsync(client)); // FIN from the service
        await client.SendAsync("still talking"u8.ToArray());
        client.Shutdown(SocketShutdown.Send);
        var received = await tunnel.ClosingFirst.ReceivedAfterFin.Task.WaitAsync(Tcp.Deadline);
        Assert.Equal("still talking"u8.ToArray(), received);
    }
}
