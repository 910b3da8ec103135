// /api/v1/servers: list, add, delete, drain, resume, rules, the agent, clients and kicks.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Gray.Relay.ControlPlane;

internal static class ServerEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Read)).WithTags("servers");
        var admin = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Admin)).WithTags("servers");

        read.MapGet("/servers", ([FromServices] RelayCommands commands) => TypedResults.Ok(commands.List()))
            .WithSummary("Every server with its agent, pairs and bytes; the relay's limits once, at the top");
        read.MapGet("/servers/{id}", Results<Ok<ServerView>, NotFound<ApiError>> (string id,
            [FromServices] RelayCommands commands) =>
            commands.Find(id) is { } server ? TypedResults.Ok(server) : NotFound(id))
            .WithSummary("One server");
        read.MapGet("/servers/{id}/rules", Results<Ok<RulesView>, NotFound<ApiError>> (string id,
            [FromServices] RelayCommands commands) =>
            commands.Find(id) is { } server ? TypedResults.Ok(server.Rules) : NotFound(id))
            .WithSummary("One server's rules: pool limit, client allow/deny, idle timeout");
        read.MapGet("/servers/{id}/agent", Results<Ok<AgentView>, NotFound<ApiError>> (string id,
            [FromServices] RelayCommands commands) =>
            commands.Find(id) switch
            {
                null => NotFound(id),
                { Agent: null } => TypedResults.NotFound(new ApiError($"server '{id}' has no agent connected")),
                { Agent: { } agent } => TypedResults.Ok(agent),
            })
            .WithSummary("The server's connected agent");
        read.MapGet("/servers/{id}/clients", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() => TypedResults.Ok(commands.Clients(id))))
            .WithSummary("Client connections of the server's client port: address, since, bytes each way");

        admin.MapPost("/servers", (AddServerRequest request, [FromServices] RelayCommands commands) =>
            Api.Run(() =>
            {
                var added = commands.Add(request);
                return TypedResults.Created($"/api/v1/servers/{added.Id}", added);
            }))
            .WithSummary("Register a server; the answer holds its secret, shown this once");
        admin.MapDelete("/servers/{id}", async (string id, [FromServices] RelayCommands commands) =>
            await Api.RunAsync(async () => await commands.DeleteAsync(id).ConfigureAwait(false)
                ? TypedResults.NoContent()
                : throw new UnknownServerException(id)).ConfigureAwait(false))
            .WithSummary("Remove a server: its agent and pairs are dropped and its ports freed");
        admin.MapPost("/servers/{id}/drain", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.Drain(id); return TypedResults.NoContent(); }))
            .WithSummary("Refuse new clients of one server; running pairs go on");
        admin.MapPost("/servers/{id}/resume", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.Resume(id); return TypedResults.NoContent(); }))
            .WithSummary("Accept new clients of one server again");
        admin.MapPost("/drain", ([FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.Drain(null); return TypedResults.NoContent(); }))
            .WithSummary("Refuse new clients of every server");
        admin.MapPost("/resume", ([FromServices] RelayCommands commands) =>
            Api.Run(() => { commands.Resume(null); return TypedResults.NoContent(); }))
            .WithSummary("Accept new clients of every server again, undoing every drain");
        admin.MapPut("/servers/{id}/bandwidth", (string id, BandwidthView request,
            [FromServices] RelayCommands commands) =>
            Api.Run(() =>
            {
                commands.SetBandwidth(id, request.ToBandwidth());
                return TypedResults.Ok(commands.Find(id)!.Rules);
            }))
            .WithSummary("Set a server's bandwidth limits (bytes per second, 0 for none); they win over the relay " +
                "file's and apply to running pairs at once");
        admin.MapDelete("/servers/{id}/bandwidth", (string id, [FromServices] RelayCommands commands) =>
            Api.Run(() =>
            {
                commands.SetBandwidth(id, null);
                return TypedResults.Ok(commands.Find(id)!.Rules);
            }))
            .WithSummary("Clear the limits set through the API: the relay file's apply again");
        admin.MapPut("/servers/{id}/hosts", (string id, HostsRequest request, [FromServices] RelayCommands commands) =>
            Api.Run(() => commands.SetHosts(id, request.Hosts ?? [])
                ? TypedResults.Ok(commands.Find(id)!)
                : throw new UnknownServerException(id)))
            .WithSummary("Set a server's host names on the shared HTTP and TLS ports (exact, or *.NAME for one " +
                "level); a name another server holds is refused (409)");
        admin.MapPost("/servers/{id}/kick", (string id, [FromQuery] string client,
            [FromServices] RelayCommands commands) =>
            Api.Run(() => TypedResults.Ok(new KickResult(commands.Kick(id, client)))))
            .WithSummary("End every connection of one client address on a server");
        admin.MapDelete("/servers/{id}/clients/{connection:long}", (string id, long connection,
            [FromServices] RelayCommands commands) =>
            Api.Run(() => TypedResults.Ok(new KickResult(commands.KickConnection(id, connection)))))
            .WithSummary("End one client connection (its ID from the clients listing)");
    }

    private static NotFound<ApiError> NotFound(string id) => TypedResults.NotFound(new ApiError($"no server '{id}'"));
}
