// `gray admin` against a real relay process through its HTTP API: tokens, clients, events, and the
// errors a person sees.
using System.Net;
using System.Net.Sockets;
using Gray.Tests.Harness;

namespace Gray.Tests.Cli;

public class AdminCommandTests
{
    [Fact]
    public async Task Tokens_are_created_listed_and_revoked_and_a_read_token_changes_nothing()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var (exitCode, output) = await relay.AdminAsync("token", "create", "--scope", "read", "--name", "ci");
        Assert.True(exitCode == 0, output);
        string token = output.Split('\n').Single(l => l.StartsWith("token:", StringComparison.Ordinal))[6..].Trim();
        string id = output.Split('\n').Single(l => l.StartsWith("id:", StringComparison.Ordinal))[3..].Trim();

        using var http = new HttpClient { BaseAddress = new Uri(relay.Admin.Url) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/servers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync("/api/v1/drain", null)).StatusCode);

        (exitCode, output) = await relay.AdminAsync("token", "list");
        Assert.True(exitCode == 0, output);
        Assert.Matches($@"{id}\s+read\s+\S+\s+ci", output);
        Assert.DoesNotContain(token, output);

        (exitCode, output) = await relay.AdminAsync("token", "revoke", id);
        Assert.True(exitCode == 0, output);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/servers")).StatusCode);
        (exitCode, output) = await relay.AdminAsync("token", "revoke", id);
        Assert.Equal(2, exitCode);
        Assert.Contains($"no token '{id}'", output);
        (exitCode, output) = await relay.AdminAsync("token", "create", "--scope", "root");
        Assert.Equal(2, exitCode);
        Assert.Contains("scope: read or admin", output);
    }

    [Fact]
    public async Task Clients_lists_addresses_and_events_follows_the_relay()
    {
        await using var tunnel = await HealthyTunnel.StartAsync(agentArgs: ["--pool", "2"]);
        var events = GrayProcess.Start(["admin", "events", "--count", "3", "--data-dir", tunnel.Relay.DataDir]);
        await using (events)
        {
            await Wait.UntilAsync(async () =>
            {
                using var http = new HttpClient();
                http.DefaultRequestHeaders.Authorization = new("Bearer", tunnel.Relay.Admin.Token);
                string status = await http.GetStringAsync(tunnel.Relay.Admin.Url + "/api/v1/relay");
                return status.Contains("\"eventSubscribers\":1", StringComparison.Ordinal);
            }, "gray admin events subscribed");

            using var client = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.0.44"));
            await client.SendAsync("hello"u8.ToArray());
            await Tcp.ReadExactlyAsync(client, 5);
            var (exitCode, output) = await tunnel.Relay.AdminAsync("clients", "healthy");
            Assert.True(exitCode == 0, output);
            Assert.Matches(@"127\.0\.0\.44:\d+\s+\d+s\s+5 B\s+5 B", output);

            (exitCode, output) = await tunnel.Relay.AdminAsync("kick", "healthy", "--client", "127.0.0.44");
            Assert.True(exitCode == 0, output);
            Assert.Contains("kicked 1 connections", output);
            Assert.True(await Tcp.IsClosedByPeerAsync(client));
            await tunnel.Relay.AdminAsync("drain", "healthy");

            Assert.Equal(0, await events.WaitForExitAsync(Tcp.Deadline));
            Assert.Matches(@"pair\.opened server=healthy client=127\.0\.0\.44", events.Output);
            Assert.Matches(@"pair\.closed server=healthy client=127\.0\.0\.44 in=5 B out=5 B", events.Output);
            Assert.Matches(@"drain server=healthy", events.Output);
        }
    }

    [Fact]
    public async Task A_taken_control_plane_address_stops_the_relay_with_one_clear_line()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        string dir = Directory.CreateTempSubdirectory("gray-relay-").FullName;
        var (exitCode, output) = await GrayProcess.RunAsync(["relay", "--data-dir", dir, "--control",
            $"127.0.0.1:{Ports.Free()}", "--http", $"127.0.0.1:{port}", "--no-console"]);
        Assert.Equal(1, exitCode);
        Assert.Contains($"the control plane cannot listen on 127.0.0.1:{port}: the address is in use", output);
        Assert.DoesNotContain("   at ", output);
    }
}
