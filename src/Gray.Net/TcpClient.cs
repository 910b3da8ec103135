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

        using (var deadline = new Deadline(_options.ConnectTimeout, _options.TimeProvider, cancellationToken))
        {
            try
            {
                if (_options.Dial is { } dial) Attach(await dial(deadline.Token).ConfigureAwait(false));
                else Attach(await ConnectSocketAsync(_connectTo, _options.Proxy, deadline.Token).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Connecting to {Server} took longer than " +
                    $"{_options.ConnectTimeout.TotalSeconds:0.###} s.");
            }
        }

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

    /// <summary>
    /// A connected socket to <paramref name="server"/>, directly or through <paramref name="proxy"/>'s tunnel.
    /// </summary>
    internal static async Task<Socket> ConnectSocketAsync(EndPoint server, HttpConnectProxy? proxy,
        CancellationToken cancellationToken)
    {
        EndPoint dial = Literal(proxy is null ? server : proxy.EndPoint);
        Socket socket = dial is IPEndPoint ip
            ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp); // dual-mode, for names
        try
        {
            await socket.ConnectAsync(dial, cancellationToken).ConfigureAwait(false);
            if (proxy is not null) await proxy.TunnelAsync(socket, server, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Builds the stream over the transport's; TLS clients override it to handshake.</summary>
    protected virtual ValueTask<Stream> CreateStreamAsync(Stream transport, CancellationToken cancellationToken) =>
        ValueTask.FromResult(transport);
}
