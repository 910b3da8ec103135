// Dials WebSockets (ws:// or wss://) to one URL, directly or through an HTTP proxy's CONNECT, for clients
// whose network lets out only web traffic. The outer TLS of wss:// only gets the bytes through: a
// connection's own TLS runs inside the WebSocket and is what a client checks, so any outer certificate
// is taken (decision 0036).
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Gray.Net;

public sealed class WebSocketDialer : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly EndPoint _server;

    /// <param name="url">ws:// or wss://, with the path the server serves WebSockets on.</param>
    /// <param name="proxy">An HTTP proxy to tunnel through, or null.</param>
    /// <param name="socketOptions">Nagle and keepalive for the TCP connections under the WebSockets.</param>
    public WebSocketDialer(Uri url, HttpConnectProxy? proxy, ConnectionOptions socketOptions)
    {
        if (url.Scheme is not ("ws" or "wss")) throw new ArgumentException($"'{url}' is not a ws:// or wss:// URL");
        Url = url;
        _server = new DnsEndPoint(url.IdnHost, url.Port);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false, // the proxy, if any, is ours: one way of tunnelling for TCP and WebSocket alike
            ConnectCallback = async (context, cancellationToken) =>
            {
                Socket socket = await TcpClient.ConnectSocketAsync(context.DnsEndPoint, proxy, cancellationToken)
                    .ConfigureAwait(false);
                TcpConnection.Configure(socket, socketOptions);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
        };
        _invoker = new HttpMessageInvoker(handler);
    }

    public Uri Url { get; }

    /// <summary>Opens one WebSocket; throws IOException if the server or the proxy refuses it.</summary>
    public async ValueTask<Transport> DialAsync(CancellationToken cancellationToken)
    {
        var webSocket = new ClientWebSocket();
        webSocket.Options.HttpVersion = HttpVersion.Version11;
        webSocket.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        webSocket.Options.KeepAliveInterval = TimeSpan.Zero; // TCP keepalive and the protocol's pings do it
        try
        {
            await webSocket.ConnectAsync(Url, _invoker, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException error)
        {
            webSocket.Dispose();
            throw new IOException($"No WebSocket to {Url}: {error.Message}" +
                (error.InnerException is { } inner ? $" ({inner.Message})" : ""), error);
        }
        catch
        {
            webSocket.Dispose();
            throw;
        }

        return new WebSocketTransport(webSocket, _server, localEndPoint: null);
    }

    public void Dispose() => _invoker.Dispose();
}
