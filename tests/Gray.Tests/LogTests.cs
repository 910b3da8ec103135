// --log-format json: every line on standard output is one JSON object, connection lines name the
// server and the pair, and no secret or OTP is ever written.
using System.Text.Json;
using Gray.Tests.Harness;

namespace Gray.Tests;

public class LogTests
{
    [Fact]
    public async Task Json_log_lines_parse_name_server_and_pair_and_hold_no_secret()
    {
        var debug = new Dictionary<string, string> { ["GRAY_LOG_LEVEL"] = "Debug" };
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay { ExtraArgs = ["--log-format", "json"], Environment = debug };
        await relay.StartAsync();
        var server = await relay.AddServerAsync("logged");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint, ["--log-format", "json"], environment: debug);
        await AgentTests.AssertEchoAsync(server.ClientPort);
        await relay.Process!.WaitForLineAsync(l => l.Contains("\"EventId\":108"), "pair ended (debug)");

        foreach (var process in new[] { relay.Process, agent })
        {
            var lines = process.Output.Split('\n').Where(l => l.StartsWith('{')).ToList();
            Assert.NotEmpty(lines);
            foreach (string line in lines) JsonDocument.Parse(line); // throws if a line is not JSON
            Assert.DoesNotContain(server.Secret, process.Output);
        }

        var pairLine = relay.Process.Output.Split('\n').First(l => l.Contains("\"EventId\":108"));
        var state = JsonDocument.Parse(pairLine).RootElement.GetProperty("State");
        Assert.Equal("logged", state.GetProperty("ServerId").GetString());
        Assert.True(state.GetProperty("PairId").GetInt64() >= 1);

        // Only JSON goes to standard output: the human lines moved to standard error (merged here).
        Assert.Contains("gray relay: control", relay.Process.Output);
    }
}
