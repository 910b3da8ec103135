// The tunnels one agent process runs: started, stopped and restarted as its configuration changes.
using Gray.Net.Multiplexing;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

internal sealed class TunnelSet(ILoggerFactory loggerFactory, TextWriter humanOutput, AgentMetrics metrics,
    CancellationToken stopping)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Running> _tunnels = new();
    private readonly ILogger _log = loggerFactory.CreateLogger<TunnelSet>();

    // One window budget for every tunnel of the process (decision 0015).
    private readonly MuxOptions _mux = new();
    private readonly TaskCompletionSource _allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _worstExitCode;

    /// <summary>Completes when no tunnel runs any more (each ended by itself, e.g. on an auth failure).</summary>
    public Task AllEnded => _allEnded.Task;

    public int WorstExitCode => Volatile.Read(ref _worstExitCode);

    /// <summary>
    /// Makes the running tunnels match <paramref name="wanted"/>: stops removed or changed ones, starts new ones.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<AgentOptions> wanted)
    {
        var byId = wanted.ToDictionary(t => t.Id);
        List<Running> stop;
        lock (_gate)
        {
            stop = _tunnels.Values.Where(r => !byId.TryGetValue(r.Options.Id, out var next) || !Same(r.Options, next))
                .ToList();
            foreach (var running in stop) _tunnels.Remove(running.Options.Id);
        }

        foreach (var running in stop)
        {
            _log.LogInformation("Tunnel {ServerId}: stopping (configuration changed)", running.Options.Id);
            await running.Cancellation.CancelAsync().ConfigureAwait(false);
            await running.Task.ConfigureAwait(false);
            running.Cancellation.Dispose();
        }

        lock (_gate)
        {
            foreach (var options in wanted.Where(t => !_tunnels.ContainsKey(t.Id)))
            {
                var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                var sessions = new NodeSessions(options,
                    nodeOptions => new TunnelAgent(nodeOptions, loggerFactory, humanOutput, _mux, metrics: metrics),
                    _log);
                var running = new Running(options, cancellation, Task.CompletedTask);
                running = running with { Task = RunAsync(running, sessions) };
                _tunnels[options.Id] = running;
                _log.LogInformation("Tunnel {ServerId}: started, forwarding to {Target}", options.Id,
                    options.TargetText);
            }
        }
    }

    private async Task RunAsync(Running running, NodeSessions sessions)
    {
        await Task.Yield();
        int exitCode = await sessions.RunAsync(running.Cancellation.Token).ConfigureAwait(false);
        lock (_gate)
        {
            if (running.Cancellation.IsCancellationRequested) return; // stopped on purpose
            if (exitCode > _worstExitCode) _worstExitCode = exitCode;
            _tunnels.Remove(running.Options.Id);
            if (_tunnels.Count == 0) _allEnded.TrySetResult();
        }
    }

    private static bool Same(AgentOptions a, AgentOptions b) =>
        a.Relay.Equals(b.Relay) && a.MoreRelays.SequenceEqual(b.MoreRelays) && a.MaxNodes == b.MaxNodes
        && a.RelayWebSocket == b.RelayWebSocket && a.Target.Equals(b.Target)
        && a.Secret == b.Secret && a.Pool == b.Pool && a.ProxyProtocol == b.ProxyProtocol
        && a.Fingerprint == b.Fingerprint && a.PlainData == b.PlainData && a.Mux == b.Mux && a.KeyFile == b.KeyFile
        && Equals(a.Proxy?.EndPoint, b.Proxy?.EndPoint);

    private sealed record Running(AgentOptions Options, CancellationTokenSource Cancellation, Task Task);
}
