// An in-process tunnel for the multiplexing tests: client → entry server → a channel of one
// multiplexed loopback connection → a connection to the backend.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gray.Net.Multiplexing;

namespace Gray.Net.Tests.Multiplexing;

internal sealed class MuxTunnel : IAsyncDisposable
{
    private readonly EntryServer _entry;
    private readonly Task _openerRun;
    private readonly Task _acceptorRun;

    private MuxTunnel(
        MuxConnection opener, MuxConnection acceptor, EntryServer entry, BlockingCollection<MuxChannel> accepted)
    {
        Accepted = accepted;
        Opener = opener;
        Acceptor = acceptor;
        _entry = entry;
        _openerRun = opener.RunAsync(CancellationToken.None);
        _acceptorRun = acceptor.RunAsync(CancellationToken.None);
    }

    public MuxConnection Opener { get; }

    public MuxConnection Acceptor { get; }

    /// <summary>The channels the accepting side got, in order.</summary>
    public BlockingCollection<MuxChannel> Accepted { get; }

    public IPEndPoint EndPoint => _entry.EndPoint;

    /// <summary>How each entry-side splice ended, in order.</summary>
    public BlockingCollection<SpliceResult> Results => _entry.Results;

    public static async Task<MuxTunnel> StartAsync(
        IPEndPoint backend, MuxOptions? options = null, TimeSpan? idleTimeout = null, TimeProvider? time = null)
    {
        var (a, b) = await SocketPairAsync();
        var opener = new MuxConnection(new NetworkStream(a, ownsSocket: true), opens: true, options);
        var accepted = new BlockingCollection<MuxChannel>();
        var acceptor = new MuxConnection(new NetworkStream(b, ownsSocket: true), opens: false, options, (channel, _) =>
        {
            accepted.Add(channel);
            return ServeAsync(channel, backend);
        });
        var entry = new EntryServer(opener, idleTimeout, time ?? TimeProvider.System);
        entry.Start();
        return new MuxTunnel(opener, acceptor, entry, accepted);
    }

    /// <summary>Two connected loopback sockets.</summary>
    public static async Task<(Socket, Socket)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(Loopback.AnyPort);
        listener.Listen(1);
        var accepting = listener.AcceptAsync();
        var a = await Loopback.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        var b = await accepting.WaitAsync(Loopback.Deadline);
        b.NoDelay = true;
        return (a, b);
    }

    public async ValueTask DisposeAsync()
    {
        await _entry.DisposeAsync();
        Opener.Close();
        Acceptor.Close();
        await Task.WhenAll(_openerRun, _acceptorRun).WaitAsync(Loopback.Deadline);
    }

    private static async Task ServeAsync(MuxChannel channel, IPEndPoint backend)
    {
        var upstream = new BackendConnection(backend);
        try
        {
            await upstream.ConnectAsync();
        }
        catch (SocketException)
        {
            channel.Abort();
            return;
        }

        try
        {
            await Splice.RunAsync(upstream, channel, idleTimeout: null, CancellationToken.None);
        }
        finally
        {
            upstream.Release();
        }
    }

    private sealed class EntryServer(MuxConnection opener, TimeSpan? idleTimeout, TimeProvider time)
        : TcpServer(Loopback.AnyPort, new TcpServerOptions { TimeProvider = time })
    {
        public BlockingCollection<SpliceResult> Results { get; } = new();

        protected override TcpSession CreateSession() => new EntrySession(this, opener, idleTimeout);

        private sealed class EntrySession(EntryServer server, MuxConnection opener, TimeSpan? idleTimeout)
            : TcpSession(server)
        {
            protected override async Task RunAsync(CancellationToken cancellationToken)
            {
                var channel = opener.TryOpen([1]);
                if (channel is null) return;
                server.Results.Add(
                    await Splice.RunAsync(this, channel, idleTimeout, cancellationToken), CancellationToken.None);
            }
        }
    }
}
