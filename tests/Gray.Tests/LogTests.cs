// --log-format json: every line on standard output is one JSON object, connection lines name the
// server and the pair, and no secret or OTP is ever written.
using System.Net.Sockets;
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

    /// <summary>More Debug lines than the console logger's queue holds (2,048), plus what a pipe holds.</summary>
    private const int LinesPastTheQueue = 4000;

    [LinuxFact]
    public async Task A_relay_whose_log_nobody_reads_keeps_serving()
    {
        // The relay's standard output and error go to a FIFO that it holds open and nobody reads: after
        // 64 KiB every write to it would block. Debug lines for thousands of failed handshakes follow.
        string dir = Directory.CreateTempSubdirectory("gray-stalled-log-").FullName;
        string dataDir = Path.Combine(dir, "data"), fifo = Path.Combine(dir, "log");
        int control = Ports.Free();
        int low = Ports.FreeBlock(20);
        string relayCommand = string.Join(' ', new[]
        {
            "dotnet", GrayCommand.BuildOutputDll, "relay", "--data-dir", dataDir, "--control", $"127.0.0.1:{control}",
            "--ports", $"{low}-{low + 19}", "--no-console",
        }.Select(a => $"'{a}'"));
        await using var relay = GrayProcess.StartProgram("sh",
            ["-c", $"mkfifo '{fifo}' && exec 3<>'{fifo}' && GRAY_LOG_LEVEL=Debug exec {relayCommand} >&3 2>&3"]);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(dataDir, "admin.json")), "the relay started");

        for (int i = 0; i < LinesPastTheQueue; i++)
        {
            try
            {
                using var garbage = await Tcp.ConnectAsync(control);
                await garbage.SendAsync("not a TLS client hello\r\n"u8.ToArray());
                garbage.Close(0); // reset: a failed handshake, one Debug line with its exception
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Refused under the flood (a full backlog, or the address's budget): a log line too, or none.
            }
        }

        var (exitCode, added) = await GrayProcess.RunAsync(["admin", "add", "after-flood", "--json", "--data-dir",
            dataDir]);
        Assert.Equal(0, exitCode);
        var server = JsonDocument.Parse(added).RootElement;
        await using var echo = new EchoService();
        echo.Start();
        await using var agent = GrayProcess.Start(["agent", "--relay", $"127.0.0.1:{control}", "--id", "after-flood",
                "--target", echo.EndPoint.ToString()],
            new Dictionary<string, string>
            {
                ["GRAY_SECRET"] = server.GetProperty("secret").GetString()!,
                ["GRAY_KNOWN_RELAYS"] = Path.Combine(dir, "known_relays"),
            });
        await agent.WaitForLineAsync(l => l.Contains("is public on relay"), "agent serving after the flood");
        await AgentTests.AssertEchoAsync(server.GetProperty("clientPort").GetInt32());
    }
}
