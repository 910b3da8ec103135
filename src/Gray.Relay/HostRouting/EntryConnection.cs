// One client connection of the HTTP entry point, and the HTTP clients that forward its requests: one
// per server it asks for, each dialing in-process connections that the routed-client listener serves as
// that server's clients (with this client's address). They end with the client's connection.
using System.Net;
using Gray.Net;
using Microsoft.AspNetCore.Connections;

namespace Gray.Relay.HostRouting;

internal sealed class EntryConnection : IDisposable
{
    /// <summary>A tunnel connection with no request under way closes after this long.</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, HttpMessageInvoker> _invokers = new(StringComparer.Ordinal);

    /// <summary>Kestrel connection middleware: the connection's invokers, disposed when it ends.</summary>
    public static ConnectionDelegate Wrap(ConnectionDelegate next) => async context =>
    {
        using var connection = new EntryConnection();
        context.Features.Set(connection);
        await next(context).ConfigureAwait(false);
    };

    public HttpMessageInvoker InvokerFor(RelayTunnel server, IPAddress client, int clientPort,
        RoutedClientListener routed)
    {
        lock (_invokers)
        {
            if (_invokers.TryGetValue(server.Id, out var invoker)) return invoker;
            var clientEndPoint = new IPEndPoint(client, clientPort);
            var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                ActivityHeadersPropagator = null,
                PooledConnectionIdleTimeout = IdleTimeout,
                ConnectCallback = (_, _) => ValueTask.FromResult(routed.Dial(server, clientEndPoint)),
            };
            return _invokers[server.Id] = new HttpMessageInvoker(handler, disposeHandler: true);
        }
    }

    public void Dispose()
    {
        lock (_invokers)
        {
            foreach (var invoker in _invokers.Values) invoker.Dispose();
            _invokers.Clear();
        }
    }
}

/// <summary>Accepts the HTTP entry point's in-process connections, each as its server's client.</summary>
internal sealed class RoutedClientListener(RelayContext relay, TcpServerOptions options)
    : TcpServer(new IPEndPoint(IPAddress.Loopback, 0), options)
{
    private static readonly IPEndPoint Entry = new(IPAddress.Loopback, 0);

    /// <summary>A connection to <paramref name="server"/> on behalf of <paramref name="client"/>.</summary>
    public Stream Dial(RelayTunnel server, IPEndPoint client)
    {
        var (near, far) = InProcessTransport.Create(client, Entry, server);
        Gray.Hosting.Background.Observe(AcceptAsync(far), $"Server {server.Id}: an HTTP client", server.Logger);
        return near;
    }

    protected override TcpSession CreateSession()
    {
        relay.Metrics.Accepted(HttpEntry.PortKind);
        return new RoutedSession(this, relay);
    }

    protected override void OnRefused(EndPoint? remoteEndPoint, RefuseReason reason) =>
        relay.Metrics.Refused(HttpEntry.PortKind, reason);

    private sealed class RoutedSession(TcpServer listener, RelayContext relay) : TcpSession(listener)
    {
        protected override Task RunAsync(CancellationToken cancellationToken) =>
            RoutedArrival.ServeAsync(this, relay, (RelayTunnel)((InProcessTransport)Transport).Tag!,
                (RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.Any, default, HttpEntry.PortKind,
                cancellationToken);
    }
}
