// A small web service on Kestrel for the HTTP entry point's tests: says who it is and what headers it
// got, streams a body of any size, and echoes WebSocket messages.
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gray.Tests.Harness;

public sealed class WebService : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebService(WebApplication app, IPEndPoint endPoint)
    {
        _app = app;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public static async Task<WebService> StartAsync(string name)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.UseWebSockets();
        app.UseRouting();
        app.MapGet("/whoami", (HttpContext c) =>
            $"{name}\nhost={c.Request.Host}\nxff={c.Request.Headers["X-Forwarded-For"]}\n" +
            $"xfp={c.Request.Headers["X-Forwarded-Proto"]}\nxfh={c.Request.Headers["X-Forwarded-Host"]}\n" +
            $"auth={c.Request.Headers.Authorization}\n");
        app.MapGet("/stream", async (HttpContext c, long bytes) =>
        {
            c.Response.ContentLength = bytes;
            byte[] chunk = new byte[64 * 1024];
            for (long sent = 0; sent < bytes; sent += chunk.Length)
            {
                await c.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, bytes - sent)));
            }
        });
        app.Map("/ws", async (HttpContext c) =>
        {
            if (!c.WebSockets.IsWebSocketRequest)
            {
                c.Response.StatusCode = 400;
                return;
            }

            using var socket = await c.WebSockets.AcceptWebSocketAsync();
            byte[] buffer = new byte[64 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close) break;
                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType,
                    received.EndOfMessage, CancellationToken.None);
            }

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        });
        await app.StartAsync();
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First());
        return new WebService(app, new IPEndPoint(IPAddress.Loopback, bound.Port));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
