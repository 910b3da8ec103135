// A relay on a PostgreSQL registry is a node of a cluster (decision 0042): its membership (heartbeats,
// the node list its agents follow) and its listener (the other nodes' writes), started and stopped together.
using System.Data.Common;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class ClusterMember : IAsyncDisposable
{
    private readonly ClusterMembership _membership;
    private readonly RegistryListener _listener;

    private ClusterMember(ClusterMembership membership, RegistryListener listener)
    {
        _membership = membership;
        _listener = listener;
    }

    /// <summary>Settings a cluster needs, checked before anything starts.</summary>
    /// <exception cref="ConfigException">A cluster without its settings, or settings without a cluster.</exception>
    public static void Check(RelayOptions options)
    {
        bool shared = RegistryStore.NamesPostgres(options.Registry);
        if (options.Cluster is { } cluster)
        {
            if (!shared) throw new ConfigException("cluster: needs a shared registry (registry: postgres://…)");
            if (cluster.NodeId.Length == 0) throw new ConfigException("cluster: needs node_id");
            if (cluster.Advertise.Length == 0)
            {
                throw new ConfigException("cluster: needs advertise (HOST:PORT at which agents reach this node)");
            }
            if (cluster.HeartbeatInterval <= TimeSpan.Zero || cluster.NodeTimeout <= cluster.HeartbeatInterval)
            {
                throw new ConfigException("cluster: node_timeout must be longer than heartbeat");
            }
        }
        else if (shared)
        {
            throw new ConfigException("registry: a PostgreSQL registry is a cluster's: set cluster.node_id and " +
                "cluster.advertise");
        }
    }

    /// <summary>Joins the cluster when the registry is shared; null for a relay alone.</summary>
    /// <exception cref="RegistryException">The registry cannot take this node's first heartbeat.</exception>
    public static ClusterMember? Start(RelayContext relay, Uri? api)
    {
        if (relay.Registry.Store is not PostgresRegistryStore store || relay.Options.Cluster is not { } options)
        {
            return null;
        }

        var membership = new ClusterMembership(relay, store, options, api?.ToString());
        relay.Cluster = membership;
        membership.NodesChanged += () =>
        {
            foreach (var server in relay.Manager.All) server.SendNodes();
        };
        try
        {
            membership.Start();
        }
        catch (DbException error)
        {
            relay.Cluster = null;
            throw RegistryException.From(relay.Registry.Location, error);
        }

        var listener = new RegistryListener(relay, store, membership);
        listener.Start();
        return new ClusterMember(membership, listener);
    }

    /// <summary>Leaves the cluster: this node's row goes, the others see it gone at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        await _membership.DisposeAsync().ConfigureAwait(false);
    }
}
