// The relay's own duties: dropping dead agents, admin commands on a live relay, graceful SIGTERM.
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class RelayTests
{
    /// <summary>Short ping timings so that dead agents are found within seconds.</summary>
    private static Dictionary<string, string> FastPings() =>
        new() { ["ping_interval"] = "300ms", ["ping_timeout"] = "1500ms" };

    [Fact]
    public async Task An_agent_that_stops_answering_pings_loses_its_server_within_the_timeout()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(FastPings());
        await relay.StartAsync();
        var server = await relay.AddServerAsync("frozen");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint);
        await AgentTests.AssertEchoAsync(server.ClientPort);

        agent.Signal(GrayProcess.SigStop); // alive but silent: its sockets stay open
        var stoppedAt = DateTime.UtcNow;
        await relay.Process!.WaitForLineAsync(
            l => l.Contains("Server frozen: no pong"), "ping timeout", TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAsync(server.ClientPort), "client port closed", TimeSpan.FromSeconds(5));
        // timeout + housekeeping slack
        Assert.InRange(DateTime.UtcNow - stoppedAt, TimeSpan.Zero, TimeSpan.FromSeconds(1.5 + 3));
        await Wait.UntilAsync(() => TestRelay.IsFree(server.DataPort), "data port released", TimeSpan.FromSeconds(5));
        agent.Signal(GrayProcess.SigCont);
    }

    [Fact]
    public async Task A_killed_agent_loses_its_server_and_its_client_port_stops_accepting()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(FastPings());
        await relay.StartAsync();
        var server = await relay.AddServerAsync("killed");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint);
        await AgentTests.AssertEchoAsync(server.ClientPort);

        agent.Signal(GrayProcess.SigKill);
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAsync(server.ClientPort), "client port closed", TimeSpan.FromSeconds(5));
        var (_, shown) = await relay.AdminAsync("show", "--json");
        Assert.False(JsonDocument.Parse(shown).RootElement.GetProperty("servers")[0].GetProperty("connected")
            .GetBoolean());
    }

    [Fact]
    public async Task Admin_delete_drops_the_agent_and_frees_the_ports_and_add_works_without_restart()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var doomed = await relay.AddServerAsync("doomed");
        var agent = await relay.StartAgentAsync(doomed, echo.EndPoint);
        await AgentTests.AssertEchoAsync(doomed.ClientPort);

        var (deleted, output) = await relay.AdminAsync("delete", "doomed");
        Assert.True(deleted == 0, output);
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20))); // the agent is told, and gives up
        Assert.Contains("deleted", agent.Output);
        Assert.True(TestRelay.IsFree(doomed.ClientPort), "client port still bound");
        Assert.True(TestRelay.IsFree(doomed.DataPort), "data port still bound");
        var (_, shown) = await relay.AdminAsync("show", "--json");
        // The limits stay at the top with no server left.
        Assert.Equal(0, JsonDocument.Parse(shown).RootElement.GetProperty("servers").GetArrayLength());
        Assert.True(JsonDocument.Parse(shown).RootElement.GetProperty("limits").GetProperty("maxConnections")
            .GetInt32() > 0);

        // A new server on the same running relay: it gets ports (the freed ones) and serves at once.
        var fresh = await relay.AddServerAsync("fresh");
        await relay.StartAgentAsync(fresh, echo.EndPoint);
        await AgentTests.AssertEchoAsync(fresh.ClientPort);
        (_, shown) = await relay.AdminAsync("show", "--json");
        var entry = JsonDocument.Parse(shown).RootElement.GetProperty("servers")[0];
        Assert.Equal("fresh", entry.GetProperty("id").GetString());
        Assert.Equal(fresh.ClientPort, entry.GetProperty("clientPort").GetInt32());
        Assert.Equal(fresh.DataPort, entry.GetProperty("dataPort").GetInt32());
        Assert.True(entry.GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task Admin_errors_are_clear_and_ports_can_be_chosen()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var chosen = await relay.AddServerAsync(
            "chosen", "--client-port", $"{relay.PortHigh}", "--data-port", $"{relay.PortHigh - 1}");
        Assert.Equal(relay.PortHigh, chosen.ClientPort);
        Assert.Equal(relay.PortHigh - 1, chosen.DataPort);
        Assert.True(chosen.Secret.Length >= 43, "a 256-bit secret in base64url has 43 characters");

        var (duplicate, output) = await relay.AdminAsync("add", "chosen");
        Assert.Equal(2, duplicate);
        Assert.Contains("already exists", output);
        (duplicate, output) = await relay.AdminAsync("add", "other", "--client-port", $"{relay.PortHigh}");
        Assert.Equal(2, duplicate);
        Assert.Contains("already taken", output);
        (duplicate, output) = await relay.AdminAsync("delete", "missing");
        Assert.Equal(2, duplicate);
        Assert.Contains("no server 'missing'", output);

        var (noRelay, message) = await GrayProcess.RunAsync(
            ["admin", "show", "--data-dir", Path.Combine(relay.DataDir, "nowhere")]);
        Assert.Equal(1, noRelay);
        Assert.Contains("no running relay found", message);
    }

    [Fact]
    public async Task Sigterm_exits_0_within_5_s_and_releases_every_port()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("term");
        await relay.StartAgentAsync(server, echo.EndPoint);
        using var pair = await Tcp.ConnectAsync(server.ClientPort); // a live pair during shutdown
        await pair.SendAsync("x"u8.ToArray());
        await Tcp.ReadExactlyAsync(pair, 1);

        var signalled = DateTime.UtcNow;
        relay.Process!.Signal(GrayProcess.SigTerm);
        Assert.Equal(0, await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.InRange(DateTime.UtcNow - signalled, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.True(await Tcp.IsClosedByPeerAsync(pair));
        int httpPort = new Uri(relay.Admin.Url).Port;
        foreach (int port in new[] { relay.ControlPort, server.ClientPort, server.DataPort, httpPort })
        {
            Assert.True(TestRelay.IsFree(port), $"port {port} still bound");
        }
    }

    [Fact]
    public async Task Admin_shutdown_stops_the_relay_gracefully()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var (exitCode, _) = await relay.AdminAsync("shutdown");
        Assert.Equal(0, exitCode);
        Assert.Equal(0, await relay.Process!.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(TestRelay.IsFree(relay.ControlPort));
    }

    [Fact]
    public async Task A_configured_pem_certificate_is_used_instead_of_the_self_made_one()
    {
        string dir = Directory.CreateTempSubdirectory("gray-pem-").FullName;
        using var certificate = Gray.Net.Certificates.CreateSelfSigned("relay.example");
        await File.WriteAllTextAsync(Path.Combine(dir, "relay.crt"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(
            Path.Combine(dir, "relay.key"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        await using var relay = new TestRelay(new()
        {
            ["tls"] = $"{{ certificate: {Path.Combine(dir, "relay.crt")}, key: {Path.Combine(dir, "relay.key")} }}",
        });
        await relay.StartAsync();
        Assert.Equal(Gray.Net.Certificates.Sha256Fingerprint(certificate), relay.Fingerprint);
        Assert.False(File.Exists(Path.Combine(relay.DataDir, "relay-key.pem")));

        await using var echo = new EchoService();
        echo.Start();
        var server = await relay.AddServerAsync("pem");
        await relay.StartAgentAsync(server, echo.EndPoint, ["--fingerprint", relay.Fingerprint]);
        await AgentTests.AssertEchoAsync(server.ClientPort);
    }

    [Fact]
    public async Task A_bad_config_file_is_a_clear_usage_error()
    {
        string config = Path.Combine(Directory.CreateTempSubdirectory("gray-config-").FullName, "gray.yaml");
        await File.WriteAllTextAsync(config, "ping_interval: 10s\nno_such_setting: 1\n");
        var (exitCode, output) = await GrayProcess.RunAsync(["relay", "--config", config, "--no-console"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("gray.yaml:2", output);
        await File.WriteAllTextAsync(config, "ping_timeout: soon\n");
        (exitCode, output) = await GrayProcess.RunAsync(["relay", "--config", config, "--no-console"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("ping_timeout: 'soon' is not a duration", output);
    }

    [Fact]
    public async Task Admin_top_shows_servers_agents_pool_pairs_and_rates()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("top-web");
        await relay.StartAgentAsync(server, echo.EndPoint, ["--pool", "3"]);
        using var pair = await Tcp.ConnectAsync(server.ClientPort);
        using var stop = new CancellationTokenSource();
        var traffic = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            while (!stop.IsCancellationRequested)
            {
                await pair.SendAsync(chunk);
                await Tcp.ReadExactlyAsync(pair, chunk.Length);
            }
        });

        var (exitCode, output) = await relay.AdminAsync("top", "--count", "3");
        await stop.CancelAsync();
        await traffic;
        Assert.Equal(0, exitCode);
        Assert.Contains("top-web", output);
        Assert.Contains("connected", output);
        Assert.Matches(
            @"top-web\s*│\s*\d+\s*│\s*\d+\s*│\s*\S*connected\S*\s*│" +
            @"\s*\d+/256\s*│\s*1\s*│\s*[\d.]+ (B|KiB|MiB|GiB)",
            output);
    }

    [Fact]
    public async Task The_data_directory_is_private()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(relay.DataDir));
        foreach (string file in new[] { "relay-key.pem", "relay-cert.pem", "registry.db", "admin.json" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
                File.GetUnixFileMode(Path.Combine(relay.DataDir, file)));
        }
    }
}
