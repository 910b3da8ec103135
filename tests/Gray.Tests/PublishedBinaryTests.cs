// The binary users deploy: README's `dotnet publish` (a native binary). Compiling ahead of time drops
// what only reflection reaches, so this runs everything that once needed it in the published binary:
// YAML config files (relay and agent), the admin commands' JSON and table, SQLite, TLS, multiplexing,
// and the metrics endpoint.
using System.Text.Json;
using Gray.Tests.Adversarial;
using Gray.Tests.Harness;

namespace Gray.Tests;

[Collection(nameof(Heavy))] // publishing takes both cores for a while: alone, after the rest
public class PublishedBinaryTests
{
    [Fact]
    public async Task The_published_binary_runs_a_tunnel_from_yaml_files_and_answers_admin_commands_in_json()
    {
        var gray = await PublishedGray.GetAsync();
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(new()
        {
            ["max_connections"] = "500", ["allow_plain_data"] = "true", ["http"] = "{ open: [metrics] }",
        }) { Command = gray };
        await relay.StartAsync();
        var server = await relay.AddServerAsync("published"); // `admin add --json`, read back
        var plain = await relay.AddServerAsync("published-plain");

        string config = Path.Combine(Path.GetDirectoryName(relay.ConfigPath)!, $"agent-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, $"""
            relay: 127.0.0.1:{relay.ControlPort}
            fingerprint: {relay.Fingerprint}
            tunnels:
              published:
                target: {echo.EndPoint}
                secret: {server.Secret}
                pool: 2
                mux: true
              published-plain:
                target: {echo.EndPoint}
                secret: {plain.Secret}
                pool: 2
                plain_data: true
                mux: false
            """);
        await using var agent = GrayProcess.Start(["agent", "--config", config],
            new Dictionary<string, string> { ["GRAY_KNOWN_RELAYS"] = relay.KnownRelays }, command: gray);
        await agent.WaitForLineAsync(
            l => l.Contains("is public on relay") && l.Contains($"port {server.ClientPort}"), "mux tunnel serving");
        await agent.WaitForLineAsync(
            l => l.Contains("is public on relay") && l.Contains($"port {plain.ClientPort}"), "plain tunnel serving");

        foreach (int port in new[] { server.ClientPort, plain.ClientPort })
        {
            using var client = await Tcp.ConnectAsync(port);
            byte[] sent = new byte[256 * 1024];
            Random.Shared.NextBytes(sent);
            var reading = Tcp.ReadExactlyAsync(client, sent.Length);
            await client.SendAsync(sent);
            Assert.Equal(sent, await reading);
        }

        var (exitCode, output) = await relay.AdminAsync("show", "--json");
        Assert.True(exitCode == 0, output);
        var list = JsonDocument.Parse(output).RootElement;
        var servers = list.GetProperty("servers").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.True(servers["published"].GetProperty("connected").GetBoolean(), output);
        Assert.True(servers["published-plain"].GetProperty("connected").GetBoolean(), output);
        Assert.Equal(500, list.GetProperty("limits").GetProperty("maxConnections").GetInt32());

        (exitCode, output) = await relay.AdminAsync("top", "--count", "1");
        Assert.True(exitCode == 0, output);
        Assert.Matches(@"published-plain\s*│", output);

        Dictionary<string, double> metrics = [];
        await Wait.UntilAsync(async () =>
        {
            metrics = await MetricsTests.ScrapeAsync(relay.Admin.Url); // left open by http.open
            return metrics.GetValueOrDefault(
                "gray_relay_bytes_total{direction=\"out\",server=\"published\"}") == 256 * 1024;
        }, "the relay's metrics count the mux tunnel's bytes");
        Assert.Contains(metrics.Keys, k => k.StartsWith("dotnet_", StringComparison.Ordinal));

        (exitCode, output) = await relay.AdminAsync("fingerprint");
        Assert.True(exitCode == 0, output);
        Assert.Equal(relay.Fingerprint, output.Trim());
        await relay.StopAsync(); // SIGTERM: exit code 0
    }
}
