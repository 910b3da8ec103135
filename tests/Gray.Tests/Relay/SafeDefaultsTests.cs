// Defaults and state that hold on the open internet and under systemd: plain data is off unless allowed,
// one relay per data directory, `gray admin` finds the relay through GRAY_DATA_DIR, and the agent keeps
// relay fingerprints in a state directory, never in the working directory.
using Gray.Cli;
using Gray.Protocol;
using Gray.Relay;
using Gray.Tests.Adversarial;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay;

public class SafeDefaultsTests
{
    [Fact]
    public async Task Plain_data_is_refused_by_default_and_the_refusal_says_how_to_allow_it()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("tenant");
        var answer = await AuthTests.HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, 8, true, server.Id),
            server.Secret);
        var refusal = Assert.IsType<ErrorMessage>(answer);
        Assert.Equal(ErrorCode.PlainDataForbidden, refusal.Code);
        Assert.Contains("allow_plain_data: true", refusal.Message);
    }

    [Fact]
    public async Task A_second_relay_on_the_same_data_directory_refuses_to_start()
    {
        await using var first = await InProcessRelay.StartAsync();
        var error = await Assert.ThrowsAsync<DataDirectoryInUseException>(
            () => InProcessRelay.StartAsync(o => o.DataDir = first.Options.DataDir));
        Assert.Contains("another relay is running on the data directory", error.Message);
        Assert.NotNull(first.Context.Manager); // the first runs on
        var server = first.AddServer("still-here");
        Assert.IsType<Welcome>(await AuthTests.HandshakeAsync(first.ControlPort,
            new Hello(Wire.Version, 8, false, server.Id), server.Secret));
    }

    [Fact]
    public async Task The_second_relay_process_exits_1_and_gray_admin_finds_the_first_through_GRAY_DATA_DIR()
    {
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var (exitCode, output) = await GrayProcess.RunAsync(
            ["relay", "--data-dir", relay.DataDir, "--control", $"127.0.0.1:{Ports.Free()}", "--no-console"]);
        Assert.Equal(1, exitCode);
        Assert.Contains("another relay is running on the data directory", output);
        Assert.DoesNotContain("   at ", output); // no stack trace

        (exitCode, output) = await GrayProcess.RunAsync(["admin", "show"],
            new Dictionary<string, string> { ["GRAY_DATA_DIR"] = relay.DataDir });
        Assert.Equal(0, exitCode);
        Assert.Contains("/1000 (agents' reserve 125)", output);
    }

    [Fact]
    public void Known_relays_go_to_a_writable_state_directory_never_the_working_directory()
    {
        string root = Directory.CreateTempSubdirectory("gray-state-").FullName;
        string state = Path.Combine(root, "state"), home = Path.Combine(root, "home");
        string config = Path.Combine(root, "etc", "agent.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        string? Lookup(Dictionary<string, string> variables, string name) => variables.GetValueOrDefault(name);

        // systemd's StateDirectory= wins (it may list several; the first is used).
        Assert.Equal(Path.Combine(state, "known_relays"), KnownRelaysLocation.Resolve(
            n => Lookup(new() { ["STATE_DIRECTORY"] = state + ":/elsewhere", ["HOME"] = home }, n), config));
        // Else the user's state directory.
        Assert.Equal(Path.Combine(home, ".local", "state", "gray", "known_relays"),
            KnownRelaysLocation.Resolve(n => Lookup(new() { ["HOME"] = home }, n), config));
        // DynamicUser without StateDirectory=: HOME is "/" and not writable (as root it is: skip that case).
        if (Environment.UserName != "root")
        {
            Assert.Equal(Path.Combine(Path.GetDirectoryName(config)!, "known_relays"),
                KnownRelaysLocation.Resolve(n => Lookup(new() { ["HOME"] = "/" }, n), config));
        }

        Assert.Equal(Path.Combine(Path.GetDirectoryName(config)!, "known_relays"),
            KnownRelaysLocation.Resolve(_ => null, config));
        string anywhere = KnownRelaysLocation.Resolve(n => Lookup(new() { ["HOME"] = home }, n), null);
        Assert.StartsWith(home, anywhere);
        Assert.NotEqual(Path.GetFullPath("known_relays"), anywhere);
    }
}
