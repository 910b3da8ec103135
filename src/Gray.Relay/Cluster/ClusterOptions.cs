// A relay's settings as a node of a cluster (the relay file's cluster: section, decision 0042).
namespace Gray.Relay;

public sealed class ClusterOptions
{
    /// <summary>This node's name in the cluster: unique, 1 to 64 of A-Z a-z 0-9 . _ -.</summary>
    public string NodeId { get; set; } = "";

    /// <summary>host:port at which agents reach this node's control port (told to every agent).</summary>
    public string Advertise { get; set; } = "";

    /// <summary>How often the node writes its heartbeat and reads the others'.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A node not heard from for this long is gone: agents are no longer sent to it.</summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
