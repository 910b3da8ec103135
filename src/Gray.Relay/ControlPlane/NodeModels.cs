// The cluster's nodes as the API shows them (GET /api/v1/nodes): each node's health and figures from its
// last heartbeat, and the totals over the live ones.
namespace Gray.Relay.ControlPlane;

/// <param name="Self">This node's ID; null for a relay that runs alone (then Nodes is empty).</param>
public sealed record NodeListView(string? Self, IReadOnlyList<NodeView> Nodes, NodeTotalsView Total);

/// <param name="Health">live, draining, or gone (no heartbeat within the node timeout).</param>
/// <param name="Api">Its control plane's URL, if it serves one.</param>
public sealed record NodeView(string Id, string Advertise, string Health, bool Draining, int Agents, int Clients,
    int Pairs, long BytesIn, long BytesOut, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt, string Fingerprint,
    string? Api);

/// <summary>Sums over the live nodes (or this relay alone).</summary>
public sealed record NodeTotalsView(int Nodes, int Agents, int Clients, int Pairs, long BytesIn, long BytesOut);
