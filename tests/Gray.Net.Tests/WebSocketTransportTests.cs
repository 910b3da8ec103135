using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;

namespace Gray.Net.Tests;

/// <summary>TLS sessions over WebSockets, accepted by TcpServer.AcceptAsync and dialed through
/// TcpClientOptions.Dial: the same session code as over sockets.</summary>
public class WebSocketTransportTests
{
    [Fact]
    public async Task Tls_over_a_WebSocket_carries_bytes_both_ways_and_forwards_half_close()
    {
        await using var server = new PullEchoTlsServer(new TcpServerOptions());
        server.Start(); // AcceptAsync serves only a started server, as the relay's control listener is
        using var front = new WebSocketFront(server);
        var client = new RecordingClient(front.EndPoint, front.DialAsync);
        await client.ConnectAsync();

        byte[] payload = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var sending = Task.Run(async () =>
        {
            await client.SendAsync(payload);
            await client.ShutdownSendAsync(); // the WebSocket's close frame: the echo answers it with its own
        });
        byte[] echoed = await client.Received.Task.WaitAsync(Loopback.Deadline);
        await sending;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(echoed));
        await client.Completion.WaitAsync(Loopback.Deadline);
        await front.Sessions.WaitAsync(Loopback.Deadline); // the server's session ended too
        Assert.Equal(0, server.SessionCount);
    }

    [Fact]
    public async Task A_WebSocket_past_the_budget_is_refused_and_counted()
    {
        await using var server = new PullEchoTlsServer(new TcpServerOptions { MaxSessionsPerAddress = 1 });
        server.Start();
        using var front = new WebSocketFront(server);
        var first = new RecordingClient(front.EndPoint, front.DialAsync);
        await first.ConnectAsync();

        var second = new RecordingClient(front.EndPoint, front.DialAsync);
        await Assert.ThrowsAnyAsync<Exception>(() => second.ConnectAsync()); // aborted before its handshake
        Assert.Equal(1, server.RefusedFor(RefuseReason.AddressLimit));
        await first.DisconnectAsync();
    }

    private sealed class PullEchoTlsServer(TcpServerOptions options)
        : TlsServer(Loopback.AnyPort, new TlsServerOptions { Certificate = Loopback.Certificate }, options)
    {
        protected override TcpSession CreateSession() => new PullEchoServer.PullEchoSession(this);
    }

    /// <summary>A bare WebSocket server: each accepted socket becomes a server-side WebSocket handed to the
    /// TLS server, as the relay's web endpoint does.</summary>
    private sealed class WebSocketFront : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Task> _sessions = [];

        public WebSocketFront(TlsServer server)
        {
            _listener.Bind(Loopback.AnyPort);
            _listener.Listen();
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    Socket accepted;
                    try
                    {
                        accepted = await _listener.AcceptAsync();
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    var webSocket = WebSocket.CreateFromStream(new NetworkStream(accepted, ownsSocket: true),
                        new WebSocketCreationOptions { IsServer = true });
                    lock (_sessions)
                    {
                        _sessions.Add(server.AcceptAsync(new WebSocketTransport(webSocket, accepted.RemoteEndPoint,
                            accepted.LocalEndPoint)));
                    }
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

        public Task Sessions
        {
            get
            {
                lock (_sessions) return Task.WhenAll(_sessions);
            }
        }

        public async ValueTask<Transport> DialAsync(CancellationToken cancellationToken)
        {
            var socket = await Loopback.ConnectAsync(EndPoint);
            var webSocket = WebSocket.CreateFromStream(new NetworkStream(socket, ownsSocket: true),
                new WebSocketCreationOptions { IsServer = false });
            return new WebSocketTransport(webSocket, socket.RemoteEndPoint, socket.LocalEndPoint);
        }

        public void Dispose() => _listener.Dispose();
    }

    private sealed class RecordingClient(IPEndPoint server, Func<CancellationToken, ValueTask<Transport>> dial)
        : TlsClient(server, new TlsClientOptions
        {
            TargetHost = "localhost",
            ServerCertificateValidation = Certificates.PinSha256(Certificates.Sha256Fingerprint(Loopback.Certificate)),
        }, new TcpClientOptions { Dial = dial })
    {
        private readonly MemoryStream _received = new();

        public TaskCompletionSource<byte[]> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override void OnReceived(ReadOnlySpan<byte> data) => _received.Write(data);

        protected override Task OnReceiveCompletedAsync(CancellationToken cancellationToken)
        {
            Received.TrySetResult(_received.ToArray());
            return Task.CompletedTask;
        }
    }
}
