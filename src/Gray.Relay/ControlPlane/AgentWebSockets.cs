// Agents over WebSocket on the control plane's port (ws[s]://HOST/gray), for networks that let out only
// web traffic. Each upgraded connection is handed to the control listener as a transport, so that the
// same sessions run with the same TLS inside (pinning, proofs), deadlines and budgets (decision 0036).
using System.Net;
using System.Net.WebSockets;
using Gray.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gray.Relay.ControlPlane;

internal static class AgentWebSockets
{
    /// <summary>Where agents ask for their WebSocket.</summary>
    public const string Path = "/gray";

    public static void Map(WebApplication app, TcpServer control)
    {
        app.UseWebSockets();
        app.Map(Path, async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
                context.Response.Headers.Upgrade = "websocket";
                await context.Response.WriteAsync("gray agents connect here with a WebSocket\n").ConfigureAwait(false);
                return;
            }

            var remote = new IPEndPoint(context.Connection.RemoteIpAddress ?? IPAddress.None,
                context.Connection.RemotePort);
            var local = new IPEndPoint(context.Connection.LocalIpAddress ?? IPAddress.None,
                context.Connection.LocalPort);
            // From here the control listener counts this connection, not the HTTP budget.
            context.Features.Get<HttpConnectionBudget.Slot>()?.Leave();
            WebSocket webSocket = await context.WebSockets.AcceptWebSocketAsync(
                new WebSocketAcceptContext { KeepAliveInterval = TimeSpan.Zero }).ConfigureAwait(false);
            await control.AcceptAsync(new WebSocketTransport(webSocket, remote, local))
                .ConfigureAwait(false);
        });
    }
}
