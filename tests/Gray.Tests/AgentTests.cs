// How the agent fails and comes back: bad credentials, a changed relay certificate, a restarted relay.
using Gray.Tests.Harness;

namespace Gray.Tests;

public class AgentTests
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task An_unknown_id_exits_2_with_a_clear_message()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        await using var echo = new EchoService();
        echo.Start();
        var agent = await relay.StartAgentAsync(
            new AddedServer("nobody", 0, 0, "c2VjcmV0"), echo.EndPoint, waitUntilServing: false);
        Assert.Equal(2, await agent.WaitForExitAsync(ExitWithin));
        Assert.Contains("authentication failed for server id 'nobody'", agent.Output);
    }

    [Fact]
    public async Task A_wrong_secret_exits_2_with_a_clear_message()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("guarded");
        await using var echo = new EchoService();
        echo.Start();
        var agent = await relay.StartAgentAsync(
            server with { Secret = "not-the-secret" }, echo.EndPoint, waitUntilServing: false);
        Assert.Equal(2, await agent.WaitForExitAsync(ExitWithin));
        Assert.Contains("authentication failed for server id 'guarded'", agent.Output);
        Assert.DoesNotContain(server.Secret, agent.Output + relay.Process!.Output);
    }

    [Fact]
    public async Task The_secret_can_come_from_a_file_and_on_the_command_line_it_draws_a_warning()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("filed");
        await using var echo = new EchoService();
        echo.Start();
        string file = Path.Combine(Directory.CreateTempSubdirectory("gray-secret-").FullName, "secret");
        await File.WriteAllTextAsync(file, server.Secret + "\n");
        var fromFile = await relay.StartAgentAsync(server, echo.EndPoint, ["--secret-file", file],
            environment: new() { ["GRAY_SECRET"] = "" });
        await AssertEchoAsync(server.ClientPort);
        Assert.DoesNotContain("warning", fromFile.Output);

        var onCommandLine = await relay.StartAgentAsync(server, echo.EndPoint, ["--secret", server.Secret],
            environment: new() { ["GRAY_SECRET"] = "" });
        Assert.Contains("--secret is visible to every local user in ps", onCommandLine.Output);
    }

    [Fact]
    public async Task A_changed_relay_fingerprint_is_refused_after_trust_on_first_use()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var original = new TestRelay();
        await original.StartAsync();
        var server = await original.AddServerAsync("tofu");
        var agent = await original.StartAgentAsync(server, echo.EndPoint);
        Assert.Contains(original.Fingerprint, await File.ReadAllTextAsync(original.KnownRelays));
        await agent.DisposeAsync();
        await original.StopAsync();

        // The same address, a new data directory: a new self-signed certificate.
        await using var impostor = new TestRelay(controlPort: original.ControlPort);
        await impostor.StartAsync();
        Assert.NotEqual(original.Fingerprint, impostor.Fingerprint);
        var fooled = GrayProcess.Start(["agent", "--relay", $"127.0.0.1:{original.ControlPort}", "--id", "tofu",
            "--secret", server.Secret, "--target", echo.EndPoint.ToString()],
            new Dictionary<string, string> { ["GRAY_KNOWN_RELAYS"] = original.KnownRelays });
        await using (fooled)
        {
            Assert.Equal(2, await fooled.WaitForExitAsync(ExitWithin));
            Assert.Contains("fingerprint changed", fooled.Output);
            Assert.Contains(impostor.Fingerprint, fooled.Output);
        }
    }

    [Fact]
    public async Task A_pinned_fingerprint_is_enforced()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("pinned");
        var wrongPin = new string('0', 64);
        var refused = await relay.StartAgentAsync(
            server, echo.EndPoint, ["--fingerprint", wrongPin], waitUntilServing: false);
        Assert.Equal(2, await refused.WaitForExitAsync(ExitWithin));
        Assert.Contains("not the --fingerprint", refused.Output);

        var (_, fingerprint) = await relay.AdminAsync("fingerprint");
        Assert.Equal(relay.Fingerprint, fingerprint.Trim());
        await relay.StartAgentAsync(server, echo.EndPoint, ["--fingerprint", fingerprint.Trim()]);
        using var client = await Tcp.ConnectAsync(server.ClientPort);
        await client.SendAsync("pinned"u8.ToArray());
        Assert.Equal("pinned"u8.ToArray(), await Tcp.ReadExactlyAsync(client, 6));
    }

    [Fact]
    public async Task After_a_relay_restart_the_agent_comes_back_by_itself_on_the_same_ports()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("comeback");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint);
        await AssertEchoAsync(server.ClientPort);

        relay.Process!.Signal(GrayProcess.SigKill);
        await relay.Process.WaitForExitAsync(TimeSpan.FromSeconds(10));
        await using var restarted = new TestRelay(dataDir: relay.DataDir, controlPort: relay.ControlPort);
        await restarted.StartAsync();
        Assert.Equal(relay.Fingerprint, restarted.Fingerprint); // the certificate survived in the data directory

        await agent.WaitForLineAsync(l => l.Contains("is public on relay") && l.Contains($"port {server.ClientPort}"),
            "agent reconnected", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(async () => await TryEchoAsync(server.ClientPort), "echo after restart");
    }

    [Fact]
    public async Task Sigterm_stops_the_agent_gracefully_with_exit_code_0()
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("polite");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint);
        agent.Signal(GrayProcess.SigTerm);
        Assert.Equal(0, await agent.WaitForExitAsync(TimeSpan.FromSeconds(5)));
        await Wait.UntilAsync(
            async () => await Tcp.IsRefusedAsync(server.ClientPort), "server dropped", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Version_and_usage_errors()
    {
        var (exitCode, output) = await GrayProcess.RunAsync(["--version"]);
        Assert.Equal(0, exitCode);
        Assert.Matches(
            @"^gray \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,12}|unknown), built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$",
            output.Trim());
        (exitCode, output) = await GrayProcess.RunAsync(["agent", "--relay", "127.0.0.1:1"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("--id", output);
        (exitCode, output) = await GrayProcess.RunAsync(
            ["agent", "--relay", "no-port", "--id", "a", "--secret", "s", "--target", "127.0.0.1:1"]);
        Assert.Equal(2, exitCode);
        Assert.Contains("is not HOST:PORT", output);
    }

    internal static async Task AssertEchoAsync(int port) => Assert.True(await TryEchoAsync(port));

    internal static async Task<bool> TryEchoAsync(int port)
    {
        try
        {
            using var client = await Tcp.ConnectAsync(port);
            await client.SendAsync("ping"u8.ToArray());
            return (await Tcp.ReadExactlyAsync(client, 4)).AsSpan().SequenceEqual("ping"u8);
        }
        catch (Exception error) when (error is System.Net.Sockets.SocketException or EndOfStreamException)
        {
            return false;
        }
    }
}
