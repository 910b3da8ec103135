// The client side of a TCP connection, with a connect deadline and an optional reconnect loop.
using System.Net;
using System.Net.Sockets;

namespace Gray.Net;

public class TcpClient : TcpConnection
{
    private readonly TcpClientOptions _options;

    /// <summary>
    /// The address connected to: a name that is an IP literal needs no resolver and no dual-mode socket.
    /// </summary>
    private readonly EndPoint _connectTo;

    public TcpClient(EndPoint server, TcpClientOptions? options = null)
        : base(options ??= new TcpClientOptions())
    {
        Server = server;
        _options = options;
        _connectTo = Literal(server);
    }

    private static EndPoint Literal(EndPoint endPoint) =>
        endPoint is DnsEndPoint dns && IPAddress.TryParse(dns.Host, out var address)
            ? new IPEndPoint(address, dns.Port) : endPoint;

    /// <summary>Where to connect: an IPEndPoint or a DnsEndPoint.</summary>
    public EndPoint Server { get; }

    /// <summary>Completes when the current connection has ended (already set when OnConnected runs).</summary>
    public Task Completion => Ended;

    /// <summary>
    /// Connects (and handshakes) within ConnectTimeout, then runs the connection in the background.
    /// OnConnected has run when this returns. May be called again after a disconnect.
    /// </summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (IsConnected) throw new InvalidOperationException("The client is already connected.");
        await Completion.ConfigureAwait(false);

        var proxy = _options.Proxy;
        EndPoint dial = proxy is null ? _connectTo : Literal(proxy.EndPoint);
        Socket socket = dial is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp); // dual-mode, for names
        using var deadline = new Deadline(_options.ConnectTimeout, _options.TimeProvider, cancellationToken);
        try
        {
            await socket.ConnectAsync(dial, deadline.Token).ConfigureAwait(false);
            if (proxy is not null) await proxy.TunnelAsync(socket, Server, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"Connecting to {Server} took longer than " +
                $"{_options.ConnectTimeout.TotalSeconds:0.###} s.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        Attach(socket);
        try
        {
            await OpenStreamAsync(CreateStreamAsync, _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Abandon();
            throw;
        }

        _ = RunAttachedAsync(); // never throws; Completion tracks it
    }

    /// <summary>Closes the connection and waits until it has ended.</summary>
    public Task DisconnectAsync()
    {
        Disconnect();
        return Completion;
    }

    /// <summary>
    /// Connects, waits for the connection to end, and connects again with exponential backoff and
    /// jitter, until cancelled or <paramref name="isFatal"/> says an error must not be retried.
    /// </summary>
    public Task RunWithReconnectAsync(BackoffOptions? backoff = null, Func<Exception, bool>? isFatal = null,
        CancellationToken cancellationToken = default)
    {
        return Reconnector.RunAsync(
            async (connected, ct) =>
            {
                await ConnectAsync(ct).ConfigureAwait(false);
                connected();
                using (ct.Register(Disconnect))
                {
                    await Completion.ConfigureAwait(false);
                }
            },
            backoff ?? new BackoffOptions(),
            isFatal,
            Logger,
            cancellationToken);
    }

    /// <summary>Builds the stream over the connected socket; TLS clients override it to handshake.</summary>
    protected virtual ValueTask<Stream> CreateStreamAsync(Socket socket, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Stream>(new NetworkStream(socket, ownsSocket: true));
}
