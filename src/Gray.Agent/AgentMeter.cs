// The agent's instruments (System.Diagnostics.Metrics).
using System.Diagnostics.Metrics;

namespace Gray.Agent;

/// <summary>Meter "Gray.Agent".</summary>
internal static class AgentMeter
{
    public const string Name = "Gray.Agent";

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Reconnects = Meter.CreateCounter<long>(
        "gray.agent.reconnects", description: "Control sessions started after the first");

    public static readonly Counter<long> DataConnectionsFailed = Meter.CreateCounter<long>(
        "gray.agent.data_connections.failed", description: "Data connections that could not be set up");

    public static readonly Counter<long> TargetFailures = Meter.CreateCounter<long>(
        "gray.agent.target.failures", description: "Pairs whose target refused or did not answer");

    public static readonly Counter<long> Bytes = Meter.CreateCounter<long>(
        "gray.agent.bytes", unit: "By", description: "Bytes forwarded by ended pairs, by direction (in: relay to target)");

    public static readonly UpDownCounter<long> ActivePairs = Meter.CreateUpDownCounter<long>(
        "gray.agent.pairs.active", description: "Pairs running");
}
