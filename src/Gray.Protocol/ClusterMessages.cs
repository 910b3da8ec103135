// What a relay of a cluster tells its agents (docs/protocol.md, "Cluster nodes"): the live nodes, so that
// an agent keeps a session on each (decision 0042). Sent only to agents whose Hello asked for it.
using Gray.Net;

namespace Gray.Protocol;

/// <summary>One node of a cluster: its ID, the address agents reach its control port at, its certificate's
/// SHA-256, and whether it is draining (no new clients there: agents rebalance away from it).</summary>
public sealed record ClusterNode(string Id, string Address, byte[] Fingerprint, bool Draining)
{
    internal int PayloadBytes => SpanWriter.StrBytes(Id) + SpanWriter.StrBytes(Address) + Wire.FingerprintBytes + 1;
}

/// <summary>Relay → agent: the cluster's live nodes (at most <see cref="Wire.MaxClusterNodes"/>), and which of
/// them this session is on; sent after Welcome and whenever the list changes.</summary>
public sealed record ClusterNodes(string Self, IReadOnlyList<ClusterNode> Nodes) : ControlMessage
{
    public override FrameType Type => FrameType.ClusterNodes;

    internal override int PayloadBytes => SpanWriter.StrBytes(Self) + 1 + Nodes.Sum(n => n.PayloadBytes);

    internal override void Write(ref SpanWriter writer)
    {
        if (Nodes.Count > Wire.MaxClusterNodes)
        {
            throw new ArgumentException($"at most {Wire.MaxClusterNodes} nodes", nameof(Nodes));
        }

        writer.Str(Self);
        writer.U8((byte)Nodes.Count);
        foreach (var node in Nodes)
        {
            writer.Str(node.Id);
            writer.Str(node.Address);
            writer.Bytes(Fixed(node.Fingerprint, Wire.FingerprintBytes));
            writer.U8(node.Draining ? Wire.NodeDraining : (byte)0);
        }
    }

    /// <summary>
    /// Where node <paramref name="nodeId"/> ranks for server <paramref name="serverId"/> (lowest first):
    /// rendezvous hashing, so that each server's agents prefer their own few nodes and agents spread over a
    /// cluster larger than they serve on. FNV-1a 64 of both IDs: stable across processes and versions.
    /// </summary>
    public static ulong Rank(string serverId, string nodeId)
    {
        ulong hash = 14695981039346656037;
        foreach (char c in serverId + "\n" + nodeId)
        {
            hash = (hash ^ c) * 1099511628211;
        }

        return hash;
    }

    internal static ClusterNodes Read(ref SpanReader reader)
    {
        string self = reader.Str(Wire.MaxIdBytes);
        int count = reader.U8();
        if (count > Wire.MaxClusterNodes)
        {
            throw new ProtocolException($"{count} cluster nodes: at most {Wire.MaxClusterNodes}");
        }

        var nodes = new ClusterNode[count];
        for (int i = 0; i < count; i++)
        {
            nodes[i] = new ClusterNode(reader.Str(Wire.MaxIdBytes), reader.Str(Wire.MaxNodeAddressBytes),
                reader.Bytes(Wire.FingerprintBytes), (reader.U8() & Wire.NodeDraining) != 0);
        }

        return new ClusterNodes(self, nodes);
    }
}
