using System.Net;
using System.Net.Sockets;

namespace Gray.Net.Tests;

public class LimitsTests
{
    [Fact]
    public async Task Sessions_per_address_are_limited_and_other_addresses_still_connect()
    {
        await using var server = new EchoServer(Loopback.AnyPort, new TcpServerOptions { MaxSessionsPerAddress = 2 });
        server.Start();
        using var a = await TcpServerTests.ConnectFromAsync(IPAddress.Loopback, server.EndPoint);
        using var b = await TcpServerTests.ConnectFromAsync(IPAddress.Loopback, server.EndPoint);
        await Wait.UntilAsync(() => server.SessionsFrom(IPAddress.Loopback) == 2, "two sessions from 127.0.0.1");
        await Loopback.AssertRefusedAsync(() => TcpServerTests.ConnectFromAsync(IPAddress.Loopback, server.EndPoint));
        Assert.Equal(1, server.RefusedFor(RefuseReason.AddressLimit));

        using var other = await TcpServerTests.ConnectFromAsync(IPAddress.Parse("127.0.0.4"), server.EndPoint);
        await TcpServerTests.AssertEchoAsync(other);
        a.Close();
        await Wait.UntilAsync(() => server.SessionsFrom(IPAddress.Loopback) == 1, "a place frees");
        using var c = await TcpServerTests.ConnectFromAsync(IPAddress.Loopback, server.EndPoint);
        await TcpServerTests.AssertEchoAsync(c);
    }

    [Fact]
    public async Task A_shared_quota_limits_connections_across_servers()
    {
        var quota = new ConnectionQuota(2);
        await using var first = new EchoServer(Loopback.AnyPort, new TcpServerOptions { Quota = quota });
        await using var second = new EchoServer(Loopback.AnyPort, new TcpServerOptions { Quota = quota });
        first.Start();
        second.Start();
        using var a = await Loopback.ConnectAsync(first.EndPoint);
        using var b = await Loopback.ConnectAsync(second.EndPoint);
        await Wait.UntilAsync(() => quota.Current == 2, "quota used");
        await Loopback.AssertRefusedAsync(() => Loopback.ConnectAsync(first.EndPoint));
        await Loopback.AssertRefusedAsync(() => Loopback.ConnectAsync(second.EndPoint));
        Assert.Equal(1, first.RefusedFor(RefuseReason.GlobalLimit));
        Assert.Equal(1, second.RefusedFor(RefuseReason.GlobalLimit));

        quota.Limit = 3; // raised at run time
        using var c = await Loopback.ConnectAsync(second.EndPoint);
        await TcpServerTests.AssertEchoAsync(c);
        b.Close();
        await Wait.UntilAsync(() => quota.Current == 2, "a place frees");
    }

    [Fact]
    public async Task An_admission_rule_refuses_denied_addresses()
    {
        var rules = AddressRules.Parse(allow: [], deny: ["127.0.0.5/32"]);
        await using var server = new RuledServer(rules);
        server.Start();
        await Loopback.AssertRefusedAsync(
            () => TcpServerTests.ConnectFromAsync(IPAddress.Parse("127.0.0.5"), server.EndPoint));
        Assert.Equal(1, server.RefusedFor(RefuseReason.Denied));
        using var allowed = await TcpServerTests.ConnectFromAsync(IPAddress.Parse("127.0.0.6"), server.EndPoint);
        await TcpServerTests.AssertEchoAsync(allowed);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "", "10.1.2.3", true)]
    [InlineData("10.0.0.0/8", "", "11.1.2.3", false)]
    [InlineData("", "10.0.0.0/8", "10.1.2.3", false)]
    [InlineData("", "10.0.0.0/8", "192.0.2.1", true)]
    [InlineData("10.0.0.0/8", "10.9.0.0/16", "10.9.1.1", false)]
    [InlineData("2001:db8::/32", "", "2001:db8::1", true)]
    [InlineData("2001:db8::/32", "", "2001:db9::1", false)]
    [InlineData("", "192.0.2.7", "::ffff:192.0.2.7", false)]
    [InlineData("", "", "198.51.100.1", true)]
    [InlineData("", "::ffff:192.0.2.0/120", "192.0.2.9", false)]
    public void Address_rules_deny_first_then_allow(string allow, string deny, string address, bool allowed)
    {
        var rules = AddressRules.Parse(allow.Length == 0 ? [] : [allow], deny.Length == 0 ? [] : [deny]);
        Assert.Equal(allowed, rules.IsAllowed(IPAddress.Parse(address)));
    }

    [Fact]
    public void A_bad_network_is_a_clear_error()
    {
        var error = Assert.Throws<FormatException>(() => AddressRules.ParseNetwork("not-a-network"));
        Assert.Contains("not-a-network", error.Message);
    }

    private sealed class RuledServer(AddressRules rules) : TcpServer(Loopback.AnyPort)
    {
        protected override TcpSession CreateSession() => new EchoSession(this);

        protected override RefuseReason? CheckAdmission(IPEndPoint remoteEndPoint) =>
            rules.IsAllowed(remoteEndPoint.Address) ? null : RefuseReason.Denied;
    }
}
