// Under systemd (Type=notify): the relay says READY=1 only once every listener is bound, STOPPING=1 at
// stop, and writes log lines as journald wants them. systemd is played by a datagram socket at
// NOTIFY_SOCKET, as sd_notify(3) describes.
using System.Net.Sockets;
using System.Text;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay;

public class SystemdTests
{
    [LinuxFact]
    public async Task The_relay_notifies_ready_once_its_listeners_are_bound_and_logs_with_journal_priorities()
    {
        string dir = Directory.CreateTempSubdirectory("gray-systemd-").FullName;
        string socketPath = Path.Combine(dir, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));
        int control = Ports.Free();
        await using var relay = GrayProcess.Start(
            ["relay", "--data-dir", Path.Combine(dir, "data"), "--control", $"127.0.0.1:{control}", "--no-console"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath });

        string ready = await ReceiveAsync(notify);
        Assert.Contains("READY=1", ready);
        // At READY every listener answers: the control port and the control plane.
        using (await Tcp.ConnectAsync(control)) { }
        var admin = System.Text.Json.JsonSerializer.Deserialize(
            File.ReadAllText(Path.Combine(dir, "data", "admin.json")),
            Gray.Relay.ControlPlane.ApiJson.Default.AdminEndpointFile)!;
        using (var http = new HttpClient())
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", admin.Token);
            Assert.Equal("ready\n", await http.GetStringAsync(admin.Url + "/readyz"));
        }

        relay.Signal(GrayProcess.SigTerm);
        Assert.Contains("STOPPING=1", await ReceiveAsync(notify));
        Assert.Equal(0, await relay.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // journald lines: "<6>Category[id] message", a priority and no timestamp of our own.
        var lines = relay.Output.Split('\n').Where(l => l.Contains("Gray.Relay.RelayService", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches(@"^<[0-7]>Gray\.Relay\.RelayService\[\d+\]", l));
    }

    [Theory]
    [InlineData("gray-relay.service", "gray-relay.service")]
    [InlineData("gray-agent@.service", "gray-agent@web.service")]
    public async Task The_units_are_type_notify_and_rated_OK_or_better_by_systemd_analyze(string unit, string instance)
    {
        string source = Path.Combine(Repository.Root, "deploy", unit);
        Assert.Contains("Type=notify", await File.ReadAllTextAsync(source));
        string dir = Directory.CreateTempSubdirectory("gray-unit-").FullName;
        string copy = Path.Combine(dir, instance);
        File.Copy(source, copy);
        await using var analyze = GrayProcess.StartProgram("systemd-analyze", ["security", "--offline=true", copy]);
        Assert.Equal(0, await analyze.WaitForExitAsync(Tcp.Deadline));
        var rating = System.Text.RegularExpressions.Regex.Match(analyze.Output,
            @"Overall exposure level for \S+: ([\d.]+) (\w+)");
        Assert.True(rating.Success, analyze.Output);
        Assert.Contains(rating.Groups[2].Value, new[] { "SAFE", "OK" });
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(Tcp.Deadline);
        int received = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
        return Encoding.UTF8.GetString(buffer, 0, received);
    }
}
