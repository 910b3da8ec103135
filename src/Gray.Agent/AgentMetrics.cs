// The agent's instruments (System.Diagnostics.Metrics), one set per agent process: the meter comes
// from the host's IMeterFactory, so agents hosted side by side (tests) count apart.
using System.Diagnostics.Metrics;

namespace Gray.Agent;

public sealed class AgentMetrics : IDisposable
{
    public const string MeterName = "Gray.Agent";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public AgentMetrics(IMeterFactory? factory = null)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Reconnects = _meter.CreateCounter<long>("gray.agent.reconnects",
            description: "Control sessions started after the first");
        DataConnectionsFailed = _meter.CreateCounter<long>("gray.agent.data_connections.failed",
            description: "Data connections that could not be set up");
        TargetFailures = _meter.CreateCounter<long>("gray.agent.target.failures",
            description: "Pairs whose target refused or did not answer");
        Bytes = _meter.CreateCounter<long>("gray.agent.bytes", unit: "By",
            description: "Bytes forwarded by ended pairs, by direction (in: relay to target)");
        ActivePairs = _meter.CreateUpDownCounter<long>("gray.agent.pairs.active", description: "Pairs running");
    }

    internal Counter<long> Reconnects { get; }

    internal Counter<long> DataConnectionsFailed { get; }

    internal Counter<long> TargetFailures { get; }

    internal Counter<long> Bytes { get; }

    internal UpDownCounter<long> ActivePairs { get; }

    /// <summary>A meter from the host's factory is the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
