// The seed's console commands, typed on the relay's terminal.
using Gray.Tests.Harness;

namespace Gray.Tests;

public class ConsoleTests
{
    [Fact]
    public async Task Slash_commands_work_on_the_relays_terminal()
    {
        var paths = new TestRelay(); // for its data directory and ports only
        await using var relay = GrayProcess.StartOnTerminal(["relay", "--data-dir", paths.DataDir,
            "--control", $"127.0.0.1:{paths.ControlPort}", "--ports", $"{paths.PortLow}-{paths.PortHigh}"]);
        await relay.WaitForLineAsync(l => l.Contains("Type /help for commands."), "console ready");

        await relay.SendLineAsync("/help");
        await relay.WaitForLineAsync(l => l.Contains("/shutdown") && l.Contains("stop the relay"), "help");
        await relay.SendLineAsync("/add typed");
        string added = await relay.WaitForLineAsync(
            l => l.StartsWith("added typed:", StringComparison.Ordinal), "added");
        Assert.Contains($"client port {paths.PortLow}", added);
        Assert.Matches("secret [A-Za-z0-9_-]{43}", added);
        await relay.SendLineAsync("/show");
        await relay.WaitForLineAsync(
            l => l.StartsWith("typed ", StringComparison.Ordinal) && l.Contains("offline"), "shown");
        await relay.SendLineAsync("/delete typed");
        await relay.WaitForLineAsync(l => l.Contains("deleted typed"), "deleted");
        await relay.SendLineAsync("/shutdown");
        Assert.Equal(0, await relay.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(TestRelay.IsFree(paths.ControlPort));
    }
}
