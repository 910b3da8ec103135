// The cluster's nodes through the API and `gray admin`: list them, drain one (any node may ask; the node
// drained applies it at its next heartbeat), resume it.
using Gray.Relay.ControlPlane;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed partial class RelayCommands
{
    public NodeListView Nodes()
    {
        if (relay.Cluster is not { } cluster)
        {
            var servers = relay.Manager.All;
            return new NodeListView(null, [], new NodeTotalsView(1, servers.Count, relay.Clients.Current,
                servers.Sum(s => s.ActivePairs), servers.Sum(s => s.BytesIn), servers.Sum(s => s.BytesOut)));
        }

        var nodes = cluster.Nodes;
        var live = nodes.Where(n => n.Live).ToList();
        return new NodeListView(cluster.NodeId,
            [.. nodes.Select(n => new NodeView(n.Id, n.Advertise, !n.Live ? "gone" : n.Draining ? "draining" : "live",
                n.Draining, n.Agents, n.Clients, n.Pairs, n.BytesIn, n.BytesOut, n.StartedAt, n.HeartbeatAt,
                n.Fingerprint, n.Api))],
            new NodeTotalsView(live.Count, live.Sum(n => n.Agents), live.Sum(n => n.Clients), live.Sum(n => n.Pairs),
                live.Sum(n => n.BytesIn), live.Sum(n => n.BytesOut)));
    }

    /// <summary>Drains node <paramref name="nodeId"/> (new clients refused there, its pairs finish, agents
    /// rebalance), or resumes it.</summary>
    /// <exception cref="RegistryException">Not a cluster, no such node, or the registry is away.</exception>
    public void DrainNode(string nodeId, bool drain)
    {
        var cluster = relay.Cluster ?? throw new RegistryException("this relay is not a node of a cluster");
        if (!cluster.SetDraining(nodeId, drain)) throw new NodeNotFoundException(nodeId);
        _log.LogInformation(drain ? "Node {Node}: draining" : "Node {Node}: resumed", nodeId);
    }
}

/// <summary>The cluster has no node of that ID.</summary>
public sealed class NodeNotFoundException(string id) : RegistryException($"no node '{id}' in the cluster");
