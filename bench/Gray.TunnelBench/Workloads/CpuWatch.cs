// CPU the tunnel's two sides spend during one measurement, reported per operation.
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal sealed class CpuWatch
{
    private readonly TunnelSetup _setup;
    private readonly IReadOnlyList<int> _relay, _agent;
    private readonly double _relayStart, _agentStart;

    public CpuWatch(TunnelSetup setup)
    {
        _setup = setup;
        _relay = setup.RelayPids();
        _agent = setup.AgentPids();
        _relayStart = ProcessStats.CpuSeconds(_relay);
        _agentStart = ProcessStats.CpuSeconds(_agent);
    }

    /// <summary>Adds µs of CPU per operation for each side that has processes.</summary>
    public void Report(Results results, long operations, Metric relayMetric, Metric agentMetric)
    {
        if (operations <= 0) return;
        if (_relay.Count > 0)
            results.Add(_setup.Name, relayMetric, (ProcessStats.CpuSeconds(_relay) - _relayStart) * 1e6 / operations);
        if (_agent.Count > 0)
            results.Add(_setup.Name, agentMetric, (ProcessStats.CpuSeconds(_agent) - _agentStart) * 1e6 / operations);
    }
}
