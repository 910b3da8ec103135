// The HTTP entry point (http_port): requests routed by their Host header, forwarded by YARP's forwarder
// on a Kestrel of their own. Each client connection gets its own tunnel connections (one per server it
// asks for): an in-process connection that RoutedClientListener accepts as the server's client, so its
// rules, budgets, bandwidth, idle timeout, PROXY protocol and listings see the real client (decision 0041).
using System.Net;
using Gray.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Gray.Relay.HostRouting;

internal sealed class HttpEntry : IAsyncDisposable
{
    public const string PortKind = "http_entry";

    /// <summary>A client connection with no request under way is closed after this long.</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Seconds a client is told to wait (Retry-After) when the server's agent is offline.</summary>
    private const string RetryAfter = "5";

    private readonly WebApplication _app;
    private readonly RoutedClientListener _routed;

    private HttpEntry(WebApplication app, RoutedClientListener routed, IPEndPoint endPoint)
    {
        _app = app;
        _routed = routed;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    public static async Task<HttpEntry> StartAsync(RelayContext relay, IPEndPoint endPoint,
        CancellationToken cancellationToken)
    {
        var options = relay.Options;
        var routed = new RoutedClientListener(relay,
            relay.ListenerOptions(options.EffectiveMaxClients, serverId: null));
        routed.StartWithoutPort();
        var budget = new ControlPlane.HttpConnectionBudget(options.AddressPrefix, options.MaxClientConnectionsPerIp);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gray" });
        builder.Services.Replace(
            ServiceDescriptor.Singleton<ILoggerFactory>(new ControlPlane.FrameworkLogFilter(relay.LoggerFactory)));
        builder.Services.AddSingleton<IHostLifetime, ControlPlane.EmbeddedLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = options.EffectiveMaxClients;
            kestrel.Limits.MaxConcurrentUpgradedConnections = options.EffectiveMaxClients;
            // A slow or silent client is closed before any server is chosen for it (slowloris).
            kestrel.Limits.RequestHeadersTimeout = options.HandshakeTimeout;
            kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
            kestrel.Limits.MaxRequestBodySize = null; // uploads stream through; the tunnel's windows bound them
            kestrel.Listen(endPoint, listen => listen.Use(next => budget.Wrap(EntryConnection.Wrap(next))));
        });
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var authentication = new BasicAuthentication(new LoginBackoff(relay.Time, options.AddressPrefix));
        app.Run(context => ForwardAsync(context, relay, routed, forwarder, authentication));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException error) when (error.InnerException is AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await routed.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw new ControlPlane.ListenException(
                $"the HTTP entry point cannot listen on {endPoint}: the address is in use (http_port)");
        }

        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First());
        return new HttpEntry(app, routed, new IPEndPoint(endPoint.Address, bound.Port));
    }

    private static async Task ForwardAsync(HttpContext context, RelayContext relay, RoutedClientListener routed,
        IHttpForwarder forwarder, BasicAuthentication authentication)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.Any;
        string? name = HostName.NormalizeRequest(context.Request.Host.Host);
        if (name is null || relay.Registry.Hosts.Find(name) is not { } id)
        {
            await AnswerAsync(context, StatusCodes.Status404NotFound, "No service answers to this name here.")
                .ConfigureAwait(false);
            return;
        }

        if (relay.Manager.Find(id) is not { } server)
        {
            context.Response.Headers.RetryAfter = RetryAfter;
            await AnswerAsync(context, StatusCodes.Status502BadGateway,
                "The service is not connected to the relay right now; try again shortly.").ConfigureAwait(false);
            return;
        }

        if (!RoutedArrival.IsWelcome(relay, server, address))
        {
            bool draining = relay.IsDraining(server.Id);
            relay.Metrics.Refused(PortKind, draining ? RefuseReason.Paused : RefuseReason.Denied);
            if (draining) context.Response.Headers.RetryAfter = RetryAfter;
            await AnswerAsync(context, draining ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status403Forbidden, draining ? "The service takes no new clients now." : "Not allowed.")
                .ConfigureAwait(false);
            return;
        }

        var rules = server.Rules;
        if (rules.HttpAuth is { } credentials
            && !await authentication.AdmitAsync(context, credentials, address).ConfigureAwait(false))
        {
            return;
        }

        var connection = context.Features.Get<EntryConnection>()!;
        var invoker = connection.InvokerFor(server, address, context.Connection.RemotePort, routed);
        // The destination's authority becomes the Host header; the client's goes on in X-Forwarded-Host.
        var error = await forwarder.SendAsync(context, $"http://{rules.HostHeader ?? context.Request.Host.Value}/",
            invoker, ForwarderRequestConfig.Empty, HttpTransformer.Default).ConfigureAwait(false);
        if (error != ForwarderError.None && !context.Response.HasStarted)
        {
            context.Response.Headers.RetryAfter = RetryAfter;
            // Debug: clients can make a failing service fail as often as they like.
            server.Logger.LogDebug(
                "Server {ServerId}: a request through the HTTP entry point failed: {Error} ({Reason})",
                server.Id, error, context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message);
            await AnswerAsync(context, StatusCodes.Status502BadGateway, "The service did not answer.")
                .ConfigureAwait(false);
        }
    }

    private static Task AnswerAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n");
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(deadline.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _routed.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
