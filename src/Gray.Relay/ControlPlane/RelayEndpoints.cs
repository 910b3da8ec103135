// /api/v1/relay and /api/v1/tokens: the relay's status and limits, its certificate, a graceful stop,
// and the control plane's tokens.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Gray.Relay.ControlPlane;

internal static class RelayEndpoints
{
    /// <summary>A token's name when its creator gives none.</summary>
    private const string UnnamedToken = "unnamed";

    public static void Map(IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Read)).WithTags("relay");
        var admin = app.MapGroup("/api/v1").WithMetadata(new RequiresScope(ApiScope.Admin)).WithTags("relay");

        read.MapGet("/relay", ([FromServices] RelayCommands commands, [FromServices] ControlPlaneInfo info) =>
            TypedResults.Ok(commands.Status(info.Version)))
            .WithSummary("Version, uptime, limits and budgets, connections by class");
        read.MapGet("/me", (HttpContext context) => TypedResults.Ok(new SessionView(
                Registry.ScopeName(context.Items[TokenAuthentication.ScopeItem] as ApiScope? ?? ApiScope.Read))))
            .WithSummary("What the presented token may do: its scope");
        read.MapGet("/relay/fingerprint", ([FromServices] RelayCommands commands) =>
            TypedResults.Ok(new FingerprintView(commands.Fingerprint)))
            .WithSummary("The SHA-256 of the certificate agents pin (--fingerprint)");
        admin.MapPost("/relay/shutdown", (HttpContext context, [FromServices] RelayCommands commands) =>
            {
                // After the answer is sent: stopping the relay stops this endpoint too.
                context.Response.OnCompleted(() =>
                {
                    commands.Shutdown();
                    return Task.CompletedTask;
                });
                return TypedResults.Accepted((string?)null);
            })
            .WithSummary("Stop the relay gracefully");

        admin.MapGet("/tokens", ([FromServices] RelayCommands commands) => TypedResults.Ok(commands.Tokens()))
            .WithTags("tokens").WithSummary("Every token's ID, scope, name and age (never the token)");
        admin.MapPost("/tokens", Results<Created<CreatedTokenView>, BadRequest<ApiError>> (CreateTokenRequest request,
            [FromServices] RelayCommands commands) =>
            Registry.ParseScope(request.Scope ?? "") is not { } scope
                ? TypedResults.BadRequest(new ApiError("scope: read or admin"))
                : Created(commands.CreateToken(scope, request.Name ?? UnnamedToken)))
            .WithTags("tokens").WithSummary("Create a token; the answer holds it, shown this once");
        admin.MapDelete("/tokens/{tokenId}", Results<NoContent, NotFound<ApiError>> (string tokenId,
            [FromServices] RelayCommands commands) =>
            commands.RevokeToken(tokenId)
                ? TypedResults.NoContent()
                : TypedResults.NotFound(new ApiError($"no token '{tokenId}'")))
            .WithTags("tokens").WithSummary("Revoke a token: requests with it are refused from now on");
    }

    private static Created<CreatedTokenView> Created(CreatedTokenView token) =>
        TypedResults.Created($"/api/v1/tokens/{token.Id}", token);
}

internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // Live: the process answers.
        app.MapGet("/healthz", () => TypedResults.Text("ok\n"))
            .WithMetadata(new RequiresScope(ApiScope.Read, openAs: "healthz")).WithTags("health");
        // Ready: every listener is bound and the relay is not stopping.
        app.MapGet("/readyz", ([FromServices] RelayCommands commands) =>
            commands.IsStopping
                ? TypedResults.Text("stopping\n", statusCode: StatusCodes.Status503ServiceUnavailable)
                : TypedResults.Text("ready\n"))
            .WithMetadata(new RequiresScope(ApiScope.Read, openAs: "readyz")).WithTags("health");
    }
}
