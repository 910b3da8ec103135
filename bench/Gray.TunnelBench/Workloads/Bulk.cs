// Bulk transfer with iperf3 (one stream each way, then 8 streams), and the CPU the tunnel's
// processes spent per GiB carried.
using System.Text.Json;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class Bulk
{
    public const string Program = "/usr/bin/iperf3";

    private const double BytesPerGiB = 1024.0 * 1024 * 1024;

    /// <summary>iperf3's server takes one test at a time; a tunnel may still be closing the last one.</summary>
    private const int BusyRetries = 100;

    /// <summary>Tries after a test that broke off (a control connection closed early), before giving up.</summary>
    private const int BrokenRetries = 2;

    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(100);

    /// <summary>Starts `iperf3 -s` on a free loopback port.</summary>
    public static async Task<(ChildProcess Process, int Port)> StartServerAsync()
    {
        int port = Ports.Free();
        var server = ChildProcess.Start("iperf3 server", Program, ["-s", "-B", "127.0.0.1", "-p", port.ToString()]);
        await Listening.WaitUntilAcceptingAsync(port, server);
        return (server, port);
    }

    public static async Task RunAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        var relayPids = setup.RelayPids();
        var agentPids = setup.AgentPids();
        double relayCpu = 0, agentCpu = 0, bytes = 0;
        foreach (var (metric, extra) in new (Metric, string[])[]
                 {
                     (Metrics.BulkUp, []), (Metrics.BulkDown, ["-R"]), (Metrics.Bulk8, ["-P", "8"]),
                 })
        {
            double relayBefore = ProcessStats.CpuSeconds(relayPids), agentBefore = ProcessStats.CpuSeconds(agentPids);
            var (bitsPerSecond, carried) = await RunClientAsync(port, options.Seconds, extra);
            relayCpu += ProcessStats.CpuSeconds(relayPids) - relayBefore;
            agentCpu += ProcessStats.CpuSeconds(agentPids) - agentBefore;
            bytes += carried;
            results.Add(setup.Name, metric, bitsPerSecond / 1e9);
            setup.EnsureRunning();
        }

        if (relayPids.Count > 0) results.Add(setup.Name, Metrics.RelayCpu, relayCpu / (bytes / BytesPerGiB));
        if (agentPids.Count > 0) results.Add(setup.Name, Metrics.AgentCpu, agentCpu / (bytes / BytesPerGiB));
    }


    /// <summary>The limit the "limit" workload sets on a Gray server (client → service), in bytes per
    /// second.</summary>
    public const long LimitBytesPerSecond = 50L * 1024 * 1024;

    /// <summary>One stream up through a server limited to <see cref="LimitBytesPerSecond"/>: the limit
    /// holding.</summary>
    public static async Task RunLimitedAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        if (!await setup.LimitBandwidthAsync(LimitBytesPerSecond)) return; // no limits in this setup
        var (bitsPerSecond, _) = await RunClientAsync(port, options.Seconds, []);
        results.Add(setup.Name, Metrics.Limited, bitsPerSecond / 8 / (1024 * 1024));
        setup.EnsureRunning();
    }

    private static async Task<(double BitsPerSecond, double Bytes)> RunClientAsync(
        int port, int seconds, string[] extra)
    {
        string[] args = ["-c", "127.0.0.1", "-p", port.ToString(), "-t", seconds.ToString(), "-J", .. extra];
        var timeout = TimeSpan.FromSeconds(seconds + 30);
        for (int attempt = 0, broken = 0; ; attempt++)
        {
            var (exit, output) = await ChildProcess.RunAsync(Program, args, timeout);
            var json = JsonDocument.Parse(output).RootElement;
            if (json.TryGetProperty("error", out var error))
            {
                if (error.GetString()!.Contains("busy", StringComparison.Ordinal) && attempt < BusyRetries)
                {
                    await Task.Delay(BusyPause);
                    continue;
                }

                if (error.GetString()!.Contains("unexpectedly", StringComparison.Ordinal) && broken++ < BrokenRetries)
                {
                    Console.Error.WriteLine($"# iperf3 {string.Join(' ', extra)}: {error.GetString()}; trying again");
                    await Task.Delay(BusyPause);
                    continue;
                }

                throw new BenchException($"iperf3 {string.Join(' ', extra)} failed ({exit}): {error.GetString()}");
            }

            var received = json.GetProperty("end").GetProperty("sum_received");
            return (received.GetProperty("bits_per_second").GetDouble(), received.GetProperty("bytes").GetDouble());
        }
    }
}
