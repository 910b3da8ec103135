// Idle footprint: the relay's and the agent's resident memory with 0, 1,000, 5,000 and 10,000 idle
// tunneled connections (each proved to work by one echo), and the memory per connection. A level that
// the public side's descriptors cannot hold (a pooled relay needs two per connection) is left out.
using System.Net.Sockets;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class IdleFootprint
{
    /// <summary>Connections being opened at once.</summary>
    private const int OpenConcurrency = 32;

    /// <summary>Pause after the last connection of a level before reading memory (refills, deferred frees).</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(180);

    private const double BytesPerMiB = 1024 * 1024;

    public static async Task RunAsync(
        TunnelSetup setup, int port, BenchOptions options, Results results, ulong descriptors)
    {
        var relayPids = setup.RelayPids();
        if (relayPids.Count == 0) return; // no tunnel, nothing to weigh
        int fits = DescriptorLimit.IdleConnectionsWithin(descriptors, setup.DescriptorsPerIdleConnection);
        var levels = options.IdleLevels.Where(l => l <= fits).ToList();
        if (levels.Count < options.IdleLevels.Count)
        {
            results.Note(setup.Name, $"idle levels above {fits:N0} left out: {setup.DescriptorsPerIdleConnection} " +
                $"descriptors per connection against an open-file limit of {descriptors:N0}");
        }

        if (!options.Quick) await Task.Delay(setup.SettleAfterStart); // idle is steady, not just started
        var sockets = new List<Socket>();
        using var cts = new CancellationTokenSource(OpenTimeout);
        try
        {
            double? relayBase = null, agentBase = null;
            foreach (int level in levels)
            {
                await OpenAsync(port, level - sockets.Count, sockets, cts.Token);
                if (setup is GraySetup gray) await gray.WaitForFullPoolAsync();
                await Task.Delay(Settle);
                setup.EnsureRunning();
                double relay = ProcessStats.RssBytes(setup.RelayPids());
                double agent = ProcessStats.RssBytes(setup.AgentPids());
                results.Add(setup.Name, Metrics.Rss("relay", level), relay / BytesPerMiB);
                if (agent > 0) results.Add(setup.Name, Metrics.Rss("agent", level), agent / BytesPerMiB);
                if (relayBase is null)
                {
                    results.Add(setup.Name, Metrics.Anonymous("relay"),
                        ProcessStats.AnonymousBytes(setup.RelayPids()) / BytesPerMiB);
                    if (agent > 0)
                    {
                        results.Add(setup.Name, Metrics.Anonymous("agent"),
                            ProcessStats.AnonymousBytes(setup.AgentPids()) / BytesPerMiB);
                    }
                }

                relayBase ??= relay;
                agentBase ??= agent;
                if (level == levels[^1] && level > levels[0])
                {
                    int added = level - levels[0];
                    results.Add(setup.Name, Metrics.RelayPerConnection, (relay - relayBase.Value) / added / 1024);
                    if (agent > 0)
                        results.Add(setup.Name, Metrics.AgentPerConnection, (agent - agentBase.Value) / added / 1024);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new BenchException($"{setup.Name}: opening {options.IdleLevels[^1]:N0} idle connections took over " +
                $"{OpenTimeout.TotalSeconds:0} s");
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
    }

    private static async Task OpenAsync(int port, int count, List<Socket> sockets, CancellationToken cancellationToken)
    {
        int next = 0;
        async Task Worker()
        {
            byte[] request = new byte[Loopback.MessageBytes], response = new byte[Loopback.MessageBytes];
            while (Interlocked.Increment(ref next) <= count)
            {
                var socket = await Loopback.ConnectAsync(port, cancellationToken);
                lock (sockets) sockets.Add(socket);
                if (!await Loopback.RoundTripAsync(socket, request, response, cancellationToken))
                {
                    throw new BenchException($"idle: connection {sockets.Count} was closed by the tunnel");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, OpenConcurrency).Select(_ => Task.Run(Worker, cancellationToken)));
    }
}
