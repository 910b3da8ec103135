// `gray admin nodes`, `drain-node ID`, `resume-node ID`: a relay cluster's nodes, through any node's API.
using System.CommandLine;
using System.Text.Json;
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command NodesCommand()
    {
        var json = JsonOption();
        var dir = DataDirOption();
        var nodes = new Command("nodes", "List the cluster's nodes: health, agents, clients, pairs, bytes.")
        {
            json, dir,
        };
        nodes.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "nodes", async (admin, ct) =>
        {
            var list = await admin.GetAsync("/api/v1/nodes", ApiJson.Default.NodeListView, ct);
            return result.GetValue(json) ? JsonSerializer.Serialize(list, ApiJson.Default.NodeListView)
                : list.Self is null ? "this relay runs alone (no cluster)"
                : string.Join('\n', list.Nodes.Select(n =>
                    $"{(n.Id == list.Self ? "*" : " ")} {n.Id,-16} {n.Health,-8} {n.Advertise,-24} agents {n.Agents}" +
                    $"  clients {n.Clients}  pairs {n.Pairs}  in {AdminText.Bytes(n.BytesIn)}  " +
                    $"out {AdminText.Bytes(n.BytesOut)}").Append($"  total: {list.Total.Nodes} live nodes, " +
                    $"{list.Total.Agents} agents, {list.Total.Pairs} pairs"));
        }, ct));
        return nodes;
    }

    private static Command NodeDrainCommand(bool drain)
    {
        var id = new Argument<string>("NODE") { Description = "node ID (cluster.node_id)" };
        var dir = DataDirOption();
        var command = new Command(drain ? "drain-node" : "resume-node", drain
            ? "Drain a node: new clients are refused there, its pairs finish, agents move to the other nodes."
            : "Let a drained node take new clients again.")
        {
            id, dir,
        };
        command.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, command.Name, async (admin, ct) =>
        {
            string node = result.GetValue(id)!;
            await admin.SendAsync(HttpMethod.Post,
                $"/api/v1/nodes/{Uri.EscapeDataString(node)}/{(drain ? "drain" : "resume")}", ct);
            return drain ? $"draining node {node}" : $"resumed node {node}";
        }, ct));
        return command;
    }
}
