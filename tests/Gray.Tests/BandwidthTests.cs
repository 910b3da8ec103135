// Bandwidth limits: rates measured over 5 s at the service (an upload) or at the clients (a download), with
// a real clock, against limits set through the API (for pairs already running) and in the relay's file;
// the settings' parsing and errors.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Gray.Cli;
using Gray.Hosting;
using Gray.Relay;
using Gray.Tests.Adversarial;
using Gray.Tests.Harness;

namespace Gray.Tests;

[Collection(nameof(Heavy))] // rates need the machine to themselves
public class BandwidthTests
{
    private const long Limit = 2 * 1024 * 1024; // bytes per second

    private const int FastBytes = 32 * 1024 * 1024;

    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1), Window = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_limit_set_through_the_API_holds_a_running_upload_within_10_percent_and_spares_other_servers()
    {
        await using var sink = new SinkService();
        sink.Start();
        await using var fastSink = new SinkService();
        fastSink.Start();
        await using var relay = await InProcessRelay.StartAsync(clock: TimeProvider.System);
        var slow = relay.AddServer("slow");
        var fast = relay.AddServer("fast");
        await relay.StartAgentAsync(slow, sink.EndPoint, pool: 2);
        await relay.StartAgentAsync(fast, fastSink.EndPoint, pool: 2);

        using var uploader = await Tcp.ConnectAsync(slow.ClientPort);
        using var stop = new CancellationTokenSource();
        var uploading = SendUntilStoppedAsync(uploader, stop.Token);
        await Wait.UntilAsync(() => sink.Received > 0, "the upload under way");
        using var api = relay.Api();
        var set = await api.PutAsJsonAsync("/api/v1/servers/slow/bandwidth",
            new { @in = Limit, @out = 0, perClientIn = 0, perClientOut = 0 });
        Assert.Contains("\"bandwidthFromApi\":true", await set.Content.ReadAsStringAsync());

        var measuring = Rate.MeasureAsync(() => sink.Received, WarmUp, Window);
        var fastClock = Stopwatch.StartNew();
        using (var client = await Tcp.ConnectAsync(fast.ClientPort))
        {
            await client.SendAsync(new byte[FastBytes]);
            client.Shutdown(SocketShutdown.Send);
            await Wait.UntilAsync(() => fastSink.Received >= FastBytes, "the unlimited server's 32 MiB");
        }

        double fastRate = FastBytes / fastClock.Elapsed.TotalSeconds;
        double rate = await measuring;
        await stop.CancelAsync();
        await uploading;
        Assert.InRange(rate, Limit * 0.9, Limit * 1.1);
        Assert.True(fastRate > 4 * Limit, $"the unlimited server moved only {fastRate / 1048576:0.0} MiB/s");

        // Cleared: the relay file's (none) applies again.
        var cleared = await api.DeleteAsync("/api/v1/servers/slow/bandwidth");
        Assert.Contains("\"bandwidthFromApi\":false", await cleared.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_servers_limit_holds_for_its_clients_routed_by_name_on_the_tls_port()
    {
        await using var sink = new SinkService();
        sink.Start();
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.HttpsPort = 0;
            o.Servers["slow"] = o.DefaultRules with { Bandwidth = new Bandwidth(In: Limit) };
        }, TimeProvider.System);
        await relay.StartAgentAsync(relay.AddServer("slow", hosts: ["slow.example.org"]), sink.EndPoint, mux: true);

        // Passthrough carries whatever follows the hello: here a stream of zeros, limited as any client's.
        using var uploader = await Tcp.ConnectAsync(relay.TlsEntryPort);
        await uploader.SendAsync(await Relay.HostRouting.ClientHelloTests.CaptureHelloAsync("slow.example.org"));
        using var stop = new CancellationTokenSource();
        var uploading = SendUntilStoppedAsync(uploader, stop.Token);
        await Wait.UntilAsync(() => sink.Received > 0, "the upload under way");
        double rate = await Rate.MeasureAsync(() => sink.Received, WarmUp, Window);
        await stop.CancelAsync();
        await uploading;
        Assert.InRange(rate, Limit * 0.9, Limit * 1.1);
    }

    [Fact]
    public async Task A_per_client_download_limit_from_the_file_gives_each_client_address_its_own_share()
    {
        await using var source = new SourceService();
        source.Start();
        await using var relay = await InProcessRelay.StartAsync(o => o.Servers["down"] = new ServerRules
        {
            Bandwidth = new Bandwidth(PerClientOut: Limit / 2),
        }, TimeProvider.System);
        var server = relay.AddServer("down");
        await relay.StartAgentAsync(server, source.EndPoint, pool: 2);

        using var stop = new CancellationTokenSource();
        long[] received = new long[2];
        var readers = new List<Task>();
        for (int i = 0; i < 2; i++)
        {
            var socket = await Tcp.ConnectAsync(server.ClientPort, from: IPAddress.Parse($"127.0.0.{2 + i}"));
            readers.Add(ReadUntilStoppedAsync(socket, received, i, stop.Token));
        }

        var rates = await Task.WhenAll(Enumerable.Range(0, 2)
            .Select(i => Rate.MeasureAsync(() => Interlocked.Read(ref received[i]), WarmUp, Window)));
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        foreach (double rate in rates) Assert.InRange(rate, Limit / 2 * 0.9, Limit / 2 * 1.1);

        using var api = relay.Api();
        Assert.Contains($"\"perClientOut\":{Limit / 2}", await api.GetStringAsync("/api/v1/servers/down/rules"));
    }

    [Fact]
    public void Rates_are_read_as_people_write_them_and_a_wrong_one_names_its_setting_and_line()
    {
        Assert.Equal(10L * 1024 * 1024, BandwidthSetting.ParseRate("10MB", "x"));
        Assert.Equal(512L * 1024, BandwidthSetting.ParseRate("512KB/s", "x"));
        Assert.Equal(1536L * 1024 * 1024, BandwidthSetting.ParseRate("1.5GB", "x"));
        Assert.Equal(2000, BandwidthSetting.ParseRate("2000", "x"));
        Assert.Equal(0, BandwidthSetting.ParseRate("off", "x"));
        Assert.Equal("10 MB/s", BandwidthSetting.Format(10L * 1024 * 1024));

        string dir = Directory.CreateTempSubdirectory("gray-bandwidth-").FullName;
        string file = Path.Combine(dir, "relay.yaml");
        File.WriteAllText(file,
            "bandwidth:\n  out: 1MB\nservers:\n  web:\n    bandwidth: { in: 10MB, per_client_in: 1MB }\n");
        var options = new RelayOptions();
        RelayConfigFile.Apply(file, options);
        Assert.Equal(new Bandwidth(Out: 1024 * 1024), options.DefaultRules.Bandwidth);
        Assert.Equal(new Bandwidth(10 * 1024 * 1024, 1024 * 1024, 1024 * 1024), options.RulesFor("web").Bandwidth);

        File.WriteAllText(file, "servers:\n  web:\n    bandwidth:\n      in: 10XB\n");
        var error = Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(file, new RelayOptions()));
        Assert.Contains($"{file}:4", error.Message);
        Assert.Contains("servers.web.bandwidth.in: '10XB' is not a rate", error.Message);
        File.WriteAllText(file, "bandwidth:\n  sideways: 1MB\n");
        Assert.Contains("bandwidth.sideways",
            Assert.Throws<ConfigException>(() => RelayConfigFile.Apply(file, new RelayOptions())).Message);
    }

    private static async Task SendUntilStoppedAsync(Socket socket, CancellationToken stop)
    {
        var chunk = new byte[64 * 1024];
        try
        {
            while (true) await socket.SendAsync(chunk, SocketFlags.None, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task ReadUntilStoppedAsync(Socket socket, long[] counts, int index, CancellationToken stop)
    {
        using (socket)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, stop)) > 0)
                {
                    Interlocked.Add(ref counts[index], read);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
