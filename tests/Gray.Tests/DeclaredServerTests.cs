// Servers declared in the relay's file: registered from it, fixed ports, managed by reloads.
using System.Text.Json;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class DeclaredServerTests
{
    [Fact]
    public async Task A_declared_server_serves_on_its_ports_and_leaves_with_its_declaration()
    {
        const string secret = "declared-secret-0123456789-0123456789";
        await using var echo = new EchoService();
        echo.Start();
        var paths = new TestRelay();
        int clientPort = paths.PortLow + 10, dataPort = paths.PortLow + 11;
        await using var relay = new TestRelay(new()
        {
            ["servers"] = $"{{ decl: {{ secret_env: DECL_SECRET, client_port: {clientPort}, data_port: " +
                $"{dataPort}, max_pool: 4 }} }}",
        }, controlPort: paths.ControlPort)
        {
            Environment = new() { ["DECL_SECRET"] = secret },
        };
        await relay.StartAsync();
        var declared = new AddedServer("decl", clientPort, dataPort, secret);
        var agent = await relay.StartAgentAsync(declared, echo.EndPoint, ["--pool", "4"]);
        await AgentTests.AssertEchoAsync(clientPort);

        var (deleted, output) = await relay.AdminAsync("delete", "decl");
        Assert.Equal(2, deleted);
        Assert.Contains("declared in the configuration file", output);

        // Another declared server appears, and decl leaves, with one reload.
        await File.WriteAllTextAsync(
            relay.ConfigPath, "servers:\n  other: { secret: 'another-secret-0123456789-0123456789' }\n");
        await relay.Process!.WaitForLineAsync(
            l => l.Contains("server decl removed") && l.Contains("server other declared"), "reloaded");
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        await Wait.UntilAsync(
            () => TestRelay.IsFree(clientPort) && TestRelay.IsFree(dataPort), "ports freed", TimeSpan.FromSeconds(10));
        var (_, shown) = await relay.AdminAsync("show", "--json");
        Assert.Equal(["other"], JsonDocument.Parse(shown).RootElement.GetProperty("servers").EnumerateArray()
            .Select(e => e.GetProperty("id").GetString()!));
    }
}
