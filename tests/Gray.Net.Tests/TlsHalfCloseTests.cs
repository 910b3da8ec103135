// A half-close over TLS while the other direction streams: the FIN goes out, every byte the peer sends
// still arrives intact, and the TLS session is never read from two threads (decision 0032).
using System.Net;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Gray.Net.Tests;

public class TlsHalfCloseTests
{
    private const int StreamedBytes = 1024 * 1024;
    private const int ConcurrentConnections = 32;

    [LinuxFact]
    public async Task A_half_close_leaves_the_TLS_session_to_the_reader()
    {
        await using var server = StartServer(StreamedBytes);
        var received = new ReceivedBytes();
        var client = new CollectingTlsClient(server.EndPoint, ClientOptions(), received);
        await client.ConnectAsync();

        await client.ShutdownSendAsync(); // while the server's bytes stream in
        // SslStream's shutdown would have set OpenSSL's "close_notify sent" flag, and its second
        // SSL_shutdown reads the session on this thread while the receive loop reads it on another.
        Assert.Equal(0, OpenSslShutdownFlags(client.SslStream));
        Assert.Equal(StreamingServer.Pattern(StreamedBytes), await received.TakeAsync(StreamedBytes));
        Assert.Equal(0, await server.EndsOfStream.Reader.ReadAsync().AsTask().WaitAsync(Loopback.Deadline));
        await client.Completion.WaitAsync(Loopback.Deadline);
    }

    [Fact]
    public async Task Half_closes_at_random_moments_of_a_stream_lose_nothing()
    {
        await using var server = StartServer(StreamedBytes);
        var random = new Random(Environment.TickCount);
        await Task.WhenAll(Enumerable.Range(0, ConcurrentConnections).Select(async _ =>
        {
            var received = new ReceivedBytes();
            var client = new CollectingTlsClient(server.EndPoint, ClientOptions(), received);
            await client.ConnectAsync();
            int before;
            lock (random) before = random.Next(StreamedBytes);
            await Wait.UntilAsync(() => received.Count >= before, "part of the stream");
            await client.ShutdownSendAsync();
            Assert.Equal(StreamingServer.Pattern(StreamedBytes), await received.TakeAsync(StreamedBytes));
            await client.Completion.WaitAsync(Loopback.Deadline);
        }));
        for (int i = 0; i < ConcurrentConnections; i++)
        {
            Assert.Equal(0, await server.EndsOfStream.Reader.ReadAsync().AsTask().WaitAsync(Loopback.Deadline));
        }
    }

    private static StreamingServer StartServer(int bytes)
    {
        var server = new StreamingServer(
            Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate }, bytes);
        server.Start();
        return server;
    }

    private static TlsClientOptions ClientOptions() => new()
    {
        ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate)),
    };

    // SSL_get_shutdown of the stream's OpenSSL session: 1 once close_notify was sent, 2 once received.
    private static int OpenSslShutdownFlags(SslStream ssl)
    {
        var field = typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);
        var handle = Assert.IsAssignableFrom<SafeHandle>(field?.GetValue(ssl));
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return SslGetShutdown(handle.DangerousGetHandle());
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [DllImport("libssl.so.3", EntryPoint = "SSL_get_shutdown", ExactSpelling = true)]
    private static extern int SslGetShutdown(nint ssl);

    /// <summary>Streams a pattern to each client, then FIN; reports how many bytes each client sent.</summary>
    private sealed class StreamingServer(IPEndPoint endPoint, TlsServerOptions tls, int bytes)
        : TlsServer(endPoint, tls)
    {
        private const int ChunkBytes = 7919; // odd, so records and reads never line up

        private int Bytes { get; } = bytes;

        public System.Threading.Channels.Channel<int> EndsOfStream { get; } =
            System.Threading.Channels.Channel.CreateUnbounded<int>();

        public static byte[] Pattern(int length)
        {
            var pattern = new byte[length];
            new Random(length).NextBytes(pattern);
            return pattern;
        }

        protected override TcpSession CreateSession() => new Session(this);

        private sealed class Session(StreamingServer server) : TlsSession(server)
        {
            protected override async Task RunAsync(CancellationToken cancellationToken)
            {
                byte[] pattern = Pattern(server.Bytes);
                var sending = Task.Run(async () =>
                {
                    for (int offset = 0; offset < pattern.Length; offset += ChunkBytes)
                    {
                        await SendAsync(pattern.AsMemory(offset, Math.Min(ChunkBytes, pattern.Length - offset)),
                            cancellationToken);
                    }

                    await ShutdownSendAsync(cancellationToken);
                }, cancellationToken);
                var buffer = new byte[4096];
                int total = 0, read;
                while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0) total += read;
                await server.EndsOfStream.Writer.WriteAsync(total, cancellationToken);
                await sending;
            }
        }
    }
}
