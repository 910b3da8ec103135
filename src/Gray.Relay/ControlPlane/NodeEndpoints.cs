// /api/v1/nodes: the cluster's nodes with their health and figures; drain and resume one of them.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Gray.Relay.ControlPlane;

internal static class NodeEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Read)).WithTags("nodes");
        var admin = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Admin)).WithTags("nodes");
        read.MapGet("/nodes", ([FromServices] RelayCommands commands) => TypedResults.Ok(commands.Nodes()))
            .WithSummary("The cluster's nodes: health, agents, clients, pairs and bytes per node and in total");
        admin.MapPost("/nodes/{id}/drain", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.DrainNode(id, drain: true); return TypedResults.NoContent(); }))
            .WithSummary("Drain a node: new clients refused there, its pairs finish, agents rebalance");
        admin.MapPost("/nodes/{id}/resume", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.DrainNode(id, drain: false); return TypedResults.NoContent(); }))
            .WithSummary("A drained node takes new clients again");
    }
}
