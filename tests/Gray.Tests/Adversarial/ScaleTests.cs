// Memory under pressure: a slow reader, and thousands of idle pairs. These run alone, after the rest.
using System.Net;
using System.Net.Sockets;
using Gray.Net;
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

/// <summary>Tests that measure a process's memory or descriptors run without neighbours.</summary>
[CollectionDefinition(nameof(Heavy), DisableParallelization = true)]
public sealed class Heavy;

[Collection(nameof(Heavy))]
public class ScaleTests(ITestOutputHelper output)
{
    /// <summary>Polls (10 ms apart) in which the service sent nothing more: it is held back.</summary>
    private const int HeldBackPolls = 50;

    private const int IdlePairs = 5000;

    [Fact]
    public async Task A_slow_reader_costs_the_relay_bounded_memory()
    {
        const int readBytes = 64 * 1024;
        await using var source = new SourceService();
        source.Start();
        await using var relay = new TestRelay();
        await relay.StartAsync();
        var server = await relay.AddServerAsync("firehose");
        await relay.StartAgentAsync(server, source.EndPoint);

        using var client = await Tcp.ConnectAsync(server.ClientPort);
        await Tcp.ReadExactlyAsync(client, 1); // the pair is up and the service is pushing
        int pid = relay.Process!.Pid;
        long baseline = ProcessStats.Rss(pid), peak = baseline;

        // The client stops reading: once every buffer on the way is full, the service must be held back
        // (what it sent stays the same), and the relay must not have grown to hold the difference.
        long sent = -1;
        int steady = 0;
        await Wait.UntilAsync(() =>
        {
            peak = Math.Max(peak, ProcessStats.Rss(pid));
            long now = source.BytesSent;
            steady = now == sent ? steady + 1 : 0;
            sent = now;
            return steady >= HeldBackPolls;
        }, "the service held back by a client that does not read");

        // Reading resumes: the service is let go on once what was held for the client drains.
        var buffer = new byte[readBytes];
        long read = 1;
        while (source.BytesSent == sent && read < sent + (64L << 20))
        {
            int got = await client.ReceiveAsync(buffer, SocketFlags.None);
            Assert.True(got > 0, "the tunnel closed");
            read += got;
        }

        Assert.True(source.BytesSent > sent, $"the service was not let go on after the client read {read >> 10} KiB");
        peak = Math.Max(peak, ProcessStats.Rss(pid));

        long growth = peak - baseline;
        output.WriteLine($"held back after {sent >> 10} KiB; relay RSS {baseline >> 20} MiB, peak {peak >> 20} " +
            $"MiB (+{growth >> 10} KiB)");
        // Kernel socket buffers hold what is in flight; the relay itself holds at most two 64 KiB pooled buffers.
        Assert.True(growth < 16L << 20, $"relay RSS grew by {growth >> 10} KiB for one slow pair");
        Assert.True(sent < 32L << 20, "the service was not held back: bytes are piling up somewhere");
    }

    [Theory]
    [InlineData(false, 2)] // pooled: the client's connection and its data connection
    [InlineData(true, 1)] // multiplexed: the client's connection; its channel rides a pool connection
    public async Task Five_thousand_idle_pairs_cost_little_memory_and_leak_no_descriptor(
        bool mux, int descriptorsPerPair)
    {
        await using var echo = new EchoService();
        echo.Start();
        await using var relay = new TestRelay(new()
        {
            ["max_connections"] = "20000", ["max_clients_per_server"] = "20000", ["max_waiting_clients"] = "10000",
            ["client_wait_timeout"] = "60s",
        });
        await relay.StartAsync();
        var server = await relay.AddServerAsync("crowd");
        await relay.StartAgentAsync(server, echo.EndPoint, ["--pool", "64", "--mux", mux ? "true" : "false"]);
        await AgentTests.AssertEchoAsync(server.ClientPort);
        int pid = relay.Process!.Pid;
        // The pool settles before the baseline is read (most of it is enough: a few connections are noise here).
        await Wait.UntilAsync(
            async () => await PoolReadyAsync(relay) >= 56, "the pool filled before the baseline is read");
        GC.Collect();
        long rssBefore = ProcessStats.Rss(pid);
        int fdsBefore = ProcessStats.OpenDescriptors(pid);

        var clients = new List<Socket>();
        for (int batch = 0; batch < IdlePairs; batch += 250)
        {
            var opened = await Task.WhenAll(Enumerable.Range(batch, 250).Select(async i =>
            {
                var socket = await Tcp.ConnectAsync(server.ClientPort, from: Sources.Address(i / 200));
                await socket.SendAsync(new byte[] { 1 });
                await Tcp.ReadExactlyAsync(socket, 1); // paired and through to the service
                return socket;
            }));
            clients.AddRange(opened);
        }

        long rssAfter = ProcessStats.Rss(pid);
        int fdsAfter = ProcessStats.OpenDescriptors(pid);
        long perPair = (rssAfter - rssBefore) / IdlePairs;
        output.WriteLine(
            $"{IdlePairs} idle pairs: relay RSS {rssBefore >> 20} → {rssAfter >> 20} MiB, " +
            $"{perPair} bytes per pair; " +
            $"descriptors {fdsBefore} → {fdsAfter}");
        Assert.True(fdsAfter - fdsBefore >= descriptorsPerPair * IdlePairs - 100, "the pairs are not all up");
        Assert.True(perPair < 64 * 1024, $"{perPair} bytes of relay memory per idle pair");

        foreach (var socket in clients) socket.Dispose();
        await Wait.UntilAsync(() => ProcessStats.OpenDescriptors(pid) <= fdsBefore + 8,
            "descriptors back to the baseline", TimeSpan.FromSeconds(60));
        await AgentTests.AssertEchoAsync(server.ClientPort);
    }

    private static async Task<int> PoolReadyAsync(TestRelay relay)
    {
        var (_, shown) = await relay.AdminAsync("show", "--json");
        return System.Text.Json.JsonDocument.Parse(shown).RootElement.GetProperty("servers")[0]
            .GetProperty("agent").GetProperty("poolReady").GetInt32();
    }

    /// <summary>Sends as fast as its peer takes it, through a bounded queue.</summary>
    private sealed class SourceService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
    {
        protected override TcpSession CreateSession() => new SourceSession(this);

        private sealed class SourceSession(TcpServer server) : TcpSession(server)
        {
            protected override async Task RunAsync(CancellationToken cancellationToken)
            {
                var chunk = new byte[64 * 1024];
                Random.Shared.NextBytes(chunk);
                while (await SendAsync(chunk, cancellationToken))
                {
                }
            }
        }
    }
}
