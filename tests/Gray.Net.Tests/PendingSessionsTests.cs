// Unauthenticated connections are counted per network (an IPv6 /64 is one host), and past a limit the
// oldest one is closed to admit the new one.
using System.Net;

namespace Gray.Net.Tests;

public class PendingSessionsTests
{
    [Fact]
    public void One_ipv6_slash_64_is_one_address_and_ipv4_counts_each()
    {
        var prefix = AddressPrefix.Default;
        IPAddress Key(string address) => prefix.KeyOf(IPAddress.Parse(address));
        Assert.Equal(Key("2001:db8:1:2::1"), Key("2001:db8:1:2:ffff::9"));
        Assert.NotEqual(Key("2001:db8:1:2::1"), Key("2001:db8:1:3::1"));
        Assert.NotEqual(prefix.KeyOf(IPAddress.Parse("192.0.2.1")), prefix.KeyOf(IPAddress.Parse("192.0.2.2")));
        Assert.Equal(IPAddress.Parse("192.0.2.1"), prefix.KeyOf(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.Equal(IPAddress.Parse("192.0.2.0"), new AddressPrefix(24, 64).KeyOf(IPAddress.Parse("192.0.2.77")));
    }

    [Fact]
    public async Task Past_a_limit_the_oldest_pending_session_is_closed_first()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var clients = new List<TcpClient>();
        for (int i = 0; i < 4; i++)
        {
            var client = new TcpClient(server.EndPoint);
            await client.ConnectAsync();
            clients.Add(client);
        }

        await Wait.UntilAsync(() => server.GetSessions().Count == 4, "four sessions");
        var sessions = server.GetSessions().OrderBy(s => s.Id).Select(s => server.FindSession(s.Id)!).ToList();
        var pending = new PendingSessions(limitPerAddress: 2, limit: 3, AddressPrefix.Default);
        var v6 = IPAddress.Parse("2001:db8::1");
        pending.Admit(sessions[0], v6);
        pending.Admit(sessions[1], IPAddress.Parse("2001:db8::2")); // the same /64
        pending.Admit(sessions[2], IPAddress.Parse("2001:db8::3")); // a third from it: the oldest goes
        Assert.Equal(2, pending.CountOf(v6));
        Assert.Equal(1, pending.Evicted);
        await Wait.UntilAsync(() => !sessions[0].IsConnected, "the oldest closed");

        pending.Release(sessions[1]); // it authenticated
        pending.Admit(sessions[3], IPAddress.Parse("192.0.2.1"));
        Assert.Equal(2, pending.Count);
        Assert.True(sessions[1].IsConnected && sessions[2].IsConnected && sessions[3].IsConnected);
        foreach (var client in clients) await client.DisconnectAsync();
    }
}
