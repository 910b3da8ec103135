// Splice's two paths (splice(2) through a pipe, and pooled buffers) over real loopback sockets:
// client socket → proxy session ⇄ proxy's backend client → backend socket.
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Gray.Net.Internal;

namespace Gray.Net.Tests;

[Collection(SpliceCollection.Name)]
public class ZeroCopySpliceTests
{
    private const int LargeBytes = 32 * 1024 * 1024;
    private const int SlowReadBytes = 4 * 1024;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Large_transfers_both_ways_arrive_intact_and_end_with_half_closes(bool zeroCopy)
    {
        long splicedBefore = Splice.ZeroCopyBytes;
        await using var pair = await Pair.OpenAsync(zeroCopy);
        byte[] up = RandomNumberGenerator.GetBytes(LargeBytes), down = RandomNumberGenerator.GetBytes(LargeBytes);

        // Both ends send and half-close at once; each must read the other's bytes, then end of stream.
        var clientSide = ExchangeAsync(pair.Client, down, up);
        var backendSide = ExchangeAsync(pair.Backend, up, down);
        await Task.WhenAll(clientSide, backendSide).WaitAsync(Loopback.Deadline);

        var result = await pair.Result.WaitAsync(Loopback.Deadline);
        Assert.Equal(LargeBytes, result.BytesAToB);
        Assert.Equal(LargeBytes, result.BytesBToA);
        Assert.False(result.Faulted);
        Assert.Equal(LargeBytes, pair.Session.BytesReceived);
        Assert.Equal(LargeBytes, pair.Session.BytesSent);
        if (zeroCopy && LinuxSplice.IsPlatformSupported) Assert.True(Splice.ZeroCopyBytes - splicedBefore >= LargeBytes);
        else Assert.Equal(splicedBefore, Splice.ZeroCopyBytes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_half_close_is_forwarded_and_the_other_direction_goes_on(bool zeroCopy)
    {
        await using var pair = await Pair.OpenAsync(zeroCopy);
        await pair.Client.SendAsync("ping"u8.ToArray());
        pair.Client.Shutdown(SocketShutdown.Send);

        // The backend reads the bytes, then end of stream: a FIN, not a reset.
        using var backend = new NetworkStream(pair.Backend);
        Assert.Equal("ping"u8.ToArray(), await Loopback.ReadExactlyAsync(backend, 4));
        Assert.True(await Loopback.IsClosedByPeerAsync(pair.Backend));

        // The connection is still open the other way.
        byte[] late = RandomNumberGenerator.GetBytes(1024 * 1024);
        await pair.Backend.SendAsync(late);
        Assert.Equal(late, await ReceiveExactlyAsync(pair.Client, late.Length));
        pair.Backend.Shutdown(SocketShutdown.Send);
        Assert.True(await Loopback.IsClosedByPeerAsync(pair.Client));
        Assert.False((await pair.Result.WaitAsync(Loopback.Deadline)).Faulted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_peer_reset_during_a_transfer_closes_both_sides(bool zeroCopy)
    {
        await using var pair = await Pair.OpenAsync(zeroCopy);
        byte[] chunk = new byte[64 * 1024];
        var sending = Task.Run(async () =>
        {
            try
            {
                while (true) await pair.Client.SendAsync(chunk);
            }
            catch (SocketException)
            {
                // the proxy closed the client side: expected
            }
        });
        using (var backend = new NetworkStream(pair.Backend)) await Loopback.ReadExactlyAsync(backend, chunk.Length);
        pair.Backend.LingerState = new LingerOption(true, 0);
        pair.Backend.Close(); // RST

        Assert.True((await pair.Result.WaitAsync(Loopback.Deadline)).Faulted);
        await sending.WaitAsync(Loopback.Deadline);
        Assert.True(await Loopback.IsClosedByPeerAsync(pair.Client));
    }

    [Fact]
    public async Task A_slow_reader_fills_the_output_and_every_byte_still_arrives_in_order()
    {
        long fallbackBefore = Splice.PipeFallbackBytes;
        await using var pair = await Pair.OpenAsync(zeroCopy: true, clientReceiveBufferBytes: SlowReadBytes);
        byte[] down = RandomNumberGenerator.GetBytes(LargeBytes / 2);
        var sending = Task.Run(async () =>
        {
            await pair.Backend.SendAsync(down);
            pair.Backend.Shutdown(SocketShutdown.Send);
        });

        // Read in small pieces with pauses, so that the proxy's socket to us is often full (EAGAIN).
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] piece = new byte[SlowReadBytes];
        long total = 0;
        int read, reads = 0;
        using var cts = new CancellationTokenSource(Loopback.Deadline);
        while ((read = await pair.Client.ReceiveAsync(piece, SocketFlags.None, cts.Token)) > 0)
        {
            hash.AppendData(piece, 0, read);
            total += read;
            if (++reads % 256 == 0) await Task.Delay(1, cts.Token);
        }

        await sending.WaitAsync(Loopback.Deadline);
        Assert.Equal(down.Length, total);
        Assert.Equal(SHA256.HashData(down), hash.GetHashAndReset());
        if (LinuxSplice.IsPlatformSupported) Assert.True(Splice.PipeFallbackBytes > fallbackBefore, "the output never filled");
    }

    [Fact]
    public async Task An_idle_pair_holds_no_pipe()
    {
        if (!LinuxSplice.IsPlatformSupported) return; // splice(2) is Linux only
        await using var pair = await Pair.OpenAsync(zeroCopy: true);
        byte[] burst = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var sending = pair.Client.SendAsync(burst);
        using (var backend = new NetworkStream(pair.Backend)) Assert.Equal(burst, await Loopback.ReadExactlyAsync(backend, burst.Length));
        await sending;

        // Both directions now wait with zero-byte reads; their pipes went back to the pool.
        await Loopback.WaitUntilAsync(() => PipePool.Shared.Lent == 0, "the pipes to be returned");
        await Task.Delay(100);
        Assert.Equal(0, PipePool.Shared.Lent);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Cancelling_the_splice_closes_both_sides(bool zeroCopy)
    {
        using var stop = new CancellationTokenSource();
        await using var pair = await Pair.OpenAsync(zeroCopy, stop: stop.Token);
        await pair.Client.SendAsync(new byte[100]);
        using (var backend = new NetworkStream(pair.Backend)) await Loopback.ReadExactlyAsync(backend, 100);
        await stop.CancelAsync();
        Assert.True(await Loopback.IsClosedByPeerAsync(pair.Client));
        Assert.True(await Loopback.IsClosedByPeerAsync(pair.Backend));
    }

    // NetworkStream refuses a socket that has shut down its sending side.
    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(Loopback.Deadline);
        for (int at = 0; at < count;)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(at), SocketFlags.None, cts.Token);
            if (read == 0) throw new EndOfStreamException();
            at += read;
        }

        return buffer;
    }

    // Sends `send`, half-closes, and reads until end of stream, which must bring exactly `expect`.
    private static async Task ExchangeAsync(Socket socket, byte[] send, byte[] expect)
    {
        var sending = Task.Run(async () =>
        {
            await socket.SendAsync(send);
            socket.Shutdown(SocketShutdown.Send);
        });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }

        await sending;
        Assert.Equal(expect.Length, total);
        Assert.Equal(SHA256.HashData(expect), hash.GetHashAndReset());
    }

    /// <summary>A raw client socket and a raw backend socket, spliced by a Gray.Net proxy in between.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly ProxyServer _proxy;

        private Pair(Socket listener, ProxyServer proxy, Socket client, Socket backend, TcpSession session)
        {
            _listener = listener;
            _proxy = proxy;
            Client = client;
            Backend = backend;
            Session = session;
        }

        public Socket Client { get; }

        public Socket Backend { get; }

        /// <summary>The proxy's session with the client (side a of the splice).</summary>
        public TcpSession Session { get; }

        public Task<SpliceResult> Result => _proxy.LastResult.Task;

        public static async Task<Pair> OpenAsync(bool zeroCopy, int? clientReceiveBufferBytes = null, CancellationToken stop = default)
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(Loopback.AnyPort);
            listener.Listen();
            var proxy = new ProxyServer((IPEndPoint)listener.LocalEndPoint!, zeroCopy, stop);
            proxy.Start();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (clientReceiveBufferBytes is { } size) client.ReceiveBufferSize = size;
            using var cts = new CancellationTokenSource(Loopback.Deadline);
            await client.ConnectAsync(proxy.EndPoint, cts.Token);
            var backend = await listener.AcceptAsync(cts.Token);
            var session = await proxy.Session.Task.WaitAsync(cts.Token);
            return new Pair(listener, proxy, client, backend, session);
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            Backend.Dispose();
            _listener.Dispose();
            await _proxy.DisposeAsync();
        }
    }

    private sealed class ProxyServer(IPEndPoint backend, bool zeroCopy, CancellationToken stop) : TcpServer(Loopback.AnyPort)
    {
        public TaskCompletionSource<SpliceResult> LastResult { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<TcpSession> Session { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override TcpSession CreateSession() => new ProxySession(this, backend, zeroCopy, stop);
    }

    private sealed class ProxySession(ProxyServer server, IPEndPoint backend, bool zeroCopy, CancellationToken stop) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var upstream = new BackendConnection(backend);
            await upstream.ConnectAsync(cancellationToken);
            server.Session.TrySetResult(this);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop);
            try
            {
                var result = await Splice.RunAsync(this, upstream, null, idleTimeout: null, zeroCopy, linked.Token);
                server.LastResult.TrySetResult(result);
            }
            finally
            {
                upstream.Release();
            }
        }
    }

}

/// <summary>Tests that read Splice's process-wide counters run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class SpliceCollection
{
    public const string Name = "Splice";
}
