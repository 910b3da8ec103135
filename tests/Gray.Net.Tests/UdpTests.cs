using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gray.Net.Tests;

public class UdpTests
{
    [Fact]
    public async Task Udp_echo_returns_each_datagram()
    {
        await using var server = new UdpEchoServer(Loopback.AnyPort);
        server.Start();
        await using var client = new DatagramCollector(server.EndPoint, new UdpOptions());
        client.Start();
        for (int i = 0; i < 100; i++)
        {
            byte[] datagram = Encoding.UTF8.GetBytes($"datagram {i}");
            Assert.True(client.Send(datagram));
            Assert.Equal(datagram, await client.NextAsync());
        }

        Assert.Equal(100, server.DatagramsReceived);
        Assert.Equal(100, server.DatagramsSent);
        Assert.Equal(100, client.DatagramsReceived);
    }

    [Fact]
    public async Task Udp_echo_over_IPv6()
    {
        await using var server = new UdpEchoServer(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        server.Start();
        await using var client = new DatagramCollector(server.EndPoint, new UdpOptions());
        client.Start();
        await client.SendAsync("six"u8.ToArray());
        Assert.Equal("six"u8.ToArray(), await client.NextAsync());
    }

    [Fact]
    public async Task Udp_multicast_reaches_every_member_and_leave_stops_delivery()
    {
        // 239.255/16 is organisation-local; TTL 0 on the loopback interface keeps it on this host.
        var group = new IPEndPoint(IPAddress.Parse("239.255.42.17"), FreeUdpPort());
        var serverOptions = new UdpOptions
        {
            MulticastGroup = group, MulticastInterface = IPAddress.Loopback, MulticastTimeToLive = 0,
        };
        await using var server = new UdpServer(Loopback.AnyPort, serverOptions);
        server.Start();

        var members = new List<DatagramCollector>();
        for (int i = 0; i < 3; i++)
        {
            var member = new DatagramCollector(null, new UdpOptions
            {
                LocalEndPoint = new IPEndPoint(IPAddress.Any, group.Port), ReuseAddress = true,
            });
            member.Start();
            member.JoinMulticastGroup(group.Address, IPAddress.Loopback);
            members.Add(member);
        }

        Assert.True(server.Multicast("to all"u8));
        foreach (var member in members) Assert.Equal("to all"u8.ToArray(), await member.NextAsync());

        members[0].LeaveMulticastGroup(group.Address, IPAddress.Loopback);
        Assert.True(server.Multicast("to two"u8));
        Assert.Equal("to two"u8.ToArray(), await members[1].NextAsync());
        Assert.Equal("to two"u8.ToArray(), await members[2].NextAsync());
        // Loopback delivers to every member in the one send, so the others having it means it is settled.
        Assert.False(members[0].TryNext(out _));

        foreach (var member in members) await member.DisposeAsync();
    }

    [Fact]
    public async Task Stop_releases_the_udp_port()
    {
        var server = new UdpEchoServer(Loopback.AnyPort);
        server.Start();
        int port = server.EndPoint.Port;
        await server.StopAsync();
        Assert.False(server.IsStarted);
        await using var again = new UdpEchoServer(new IPEndPoint(IPAddress.Loopback, port));
        again.Start();
        await using var client = new DatagramCollector(again.EndPoint, new UdpOptions());
        client.Start();
        client.Send("x"u8);
        Assert.Equal("x"u8.ToArray(), await client.NextAsync());
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private sealed class UdpEchoServer(IPEndPoint endPoint) : UdpServer(endPoint)
    {
        protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram) => SendTo(remote, datagram);
    }

    private sealed class DatagramCollector(IPEndPoint? server, UdpOptions options) : UdpClient(server, options)
    {
        private readonly BlockingCollection<byte[]> _datagrams = new();

        public async Task<byte[]> NextAsync() =>
            await Task.Run(
                () => _datagrams.TryTake(out var d, Loopback.Deadline) ? d : throw new TimeoutException("no datagram"));

        public bool TryNext(out byte[]? datagram) => _datagrams.TryTake(out datagram);

        protected override void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram) =>
            _datagrams.Add(datagram.ToArray());
    }
}
