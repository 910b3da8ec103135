// PROXY protocol toward the service: the header's bytes as haproxy's specification gives them, and a real
// consumer (haproxy with accept-proxy) logging the test client's own 127.0.0.x address and port.
using System.Net;
using System.Text;
using Gray.Cli;
using Gray.Protocol;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ProxyProtocolTests
{
    private static readonly IPEndPoint Client = new(IPAddress.Parse("127.0.0.7"), 40000);
    private static readonly IPEndPoint Relay = new(IPAddress.Parse("10.0.0.1"), 20000);

    [Fact]
    public void Version_1_is_one_text_line_and_carries_tcp_only()
    {
        Assert.Equal("PROXY TCP4 127.0.0.7 10.0.0.1 40000 20000\r\n",
            Encoding.ASCII.GetString(ProxyHeader.Encode(ProxyProtocolVersion.V1, Client, Relay)));
        // An IPv4 client on a dual-mode socket is written as IPv4.
        var mapped = new IPEndPoint(Client.Address.MapToIPv6(), Client.Port);
        Assert.Equal("PROXY TCP4 127.0.0.7 10.0.0.1 40000 20000\r\n",
            Encoding.ASCII.GetString(ProxyHeader.Encode(ProxyProtocolVersion.V1, mapped, Relay)));
        Assert.Equal("PROXY TCP6 2001:db8::7 :: 40000 20000\r\n", Encoding.ASCII.GetString(ProxyHeader.Encode(
            ProxyProtocolVersion.V1, new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000),
            new IPEndPoint(IPAddress.IPv6Any, 20000))));
        Assert.Throws<ArgumentException>(
            () => ProxyHeader.Encode(ProxyProtocolVersion.V1, Client, Relay, datagram: true));
    }

    [Fact]
    public void Version_2_is_the_signature_then_family_transport_length_addresses_and_ports()
    {
        byte[] tcp4 = ProxyHeader.Encode(ProxyProtocolVersion.V2, Client, Relay);
        Assert.Equal(Convert.FromHexString("0D0A0D0A000D0A515549540A" + "21" + "11" + "000C" + "7F000007" + "0A000001"
            + "9C40" + "4E20"), tcp4);

        byte[] udp6 = ProxyHeader.Encode(ProxyProtocolVersion.V2, new IPEndPoint(IPAddress.IPv6Loopback, 53),
            Relay, datagram: true); // an IPv4 destination is written in the source's family
        Assert.Equal(0x22, udp6[13]);
        Assert.Equal(36, udp6[14] << 8 | udp6[15]);
        Assert.Equal(16 + 36, udp6.Length);
        Assert.Equal(IPAddress.IPv6Loopback, new IPAddress(udp6.AsSpan(16, 16)));
        Assert.Equal(Relay.Address.MapToIPv6(), new IPAddress(udp6.AsSpan(32, 16)));
    }

    [Fact]
    public void The_setting_takes_v1_and_v2_and_names_anything_else()
    {
        Assert.Equal(ProxyProtocolVersion.V2, ProxyProtocolSetting.Parse("v2", "--proxy-protocol"));
        Assert.Equal(ProxyProtocolVersion.None, ProxyProtocolSetting.Parse(null, "--proxy-protocol"));
        Assert.Contains("--proxy-protocol: 'v3' is not v1 or v2", Assert.Throws<Gray.Hosting.ConfigException>(
            () => ProxyProtocolSetting.Parse("v3", "--proxy-protocol")).Message);

        string dir = Directory.CreateTempSubdirectory("gray-proxy-protocol-").FullName;
        string file = Path.Combine(dir, "agent.yaml");
        File.WriteAllText(file, "relay: relay.example.org:44555\ntunnels:\n  dns:\n    target: udp://127.0.0.1:53\n" +
            "    secret: " + new string('s', 40) + "\n    proxy_protocol: v1\n");
        Assert.Contains("v1 carries TCP only", Assert.Throws<Gray.Hosting.ConfigException>(
            () => AgentConfig.Load(file, Path.Combine(dir, "known_relays"))).Message);
    }

    [Theory]
    [InlineData(ProxyProtocolVersion.V1, false)]
    [InlineData(ProxyProtocolVersion.V2, true)]
    public async Task Haproxy_behind_the_tunnel_logs_the_clients_own_address(ProxyProtocolVersion version, bool mux)
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var haproxy = await Haproxy.StartAsync(echo.EndPoint.Port);
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var server = relay.AddServer("proxied");
        await relay.StartAgentAsync(server, new IPEndPoint(IPAddress.Loopback, haproxy.Port), pool: 2, mux: mux,
            proxyProtocol: version);

        for (int i = 0; i < 3; i++)
        {
            var from = IPAddress.Parse($"127.0.0.{7 + i}");
            IPEndPoint client;
            using (var socket = await Tcp.ConnectAsync(server.ClientPort, from: from))
            {
                client = (IPEndPoint)socket.LocalEndPoint!;
                await socket.SendAsync("through haproxy"u8.ToArray());
                Assert.Equal("through haproxy"u8.ToArray(), await Tcp.ReadExactlyAsync(socket, 15));
            }

            await haproxy.WaitForClientAsync(client); // its log line comes when the connection ends
        }

        using var api = relay.Api();
        Assert.Contains($"\"proxyProtocol\":\"v{(int)version}\"", await api.GetStringAsync("/api/v1/servers/proxied"));
    }
}
