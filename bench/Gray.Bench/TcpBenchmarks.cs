// Echo and multicast over TCP and TLS: a Gray.Net server and CLIENTS Gray.Net clients in this process.
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;

namespace Gray.Bench;

/// <summary>Server-side session: echoes every byte back (echo) or only reads and discards (multicast).</summary>
internal sealed class BenchSession(TcpServer server, Shared shared, bool echo) : TcpSession(server)
{
    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        if (echo && Send(data) != SendResult.Queued && !shared.Stopping) shared.Error("server: echo send not queued");
    }

    protected override void OnError(Exception error) => shared.Error(error);
}

internal sealed class BenchTlsSession(TlsServer server, Shared shared, bool echo) : TlsSession(server)
{
    protected override void OnReceived(ReadOnlySpan<byte> data)
    {
        if (echo && Send(data) != SendResult.Queued && !shared.Stopping) shared.Error("server: echo send not queued");
    }

    protected override void OnError(Exception error) => shared.Error(error);
}

internal sealed class BenchTcpServer(IPEndPoint endPoint, TcpServerOptions options, Shared shared, bool echo)
    : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new BenchSession(this, shared, echo);
}

internal sealed class BenchTlsServer(
    IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions options, Shared shared, bool echo)
    : TlsServer(endPoint, tls, options)
{
    protected override TcpSession CreateSession() => new BenchTlsSession(this, shared, echo);
}

/// <summary>The client half of the traffic, shared by the TCP and the TLS client classes.</summary>
internal sealed class ClientLoop(Shared shared, byte[]? window)
{
    // 64 KiB, the library's default receive buffer: one read takes whatever the socket has.
    private readonly byte[] _receiveBuffer = new byte[64 * 1024];
    private long _received;

    public long Received => Volatile.Read(ref _received);

    /// <summary>
    /// Echo: send the whole window (MESSAGES x SIZE) once, then for every SIZE bytes that come back send
    /// one more message. TCP is a stream, so bytes are counted, not reads; k whole messages received
    /// become one Send of k x SIZE bytes from the preallocated window (k never exceeds MESSAGES).
    /// Multicast (no window): only count.
    /// </summary>
    public async Task RunAsync(TcpConnection connection, CancellationToken cancellationToken)
    {
        await shared.Started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        byte[] buffer = _receiveBuffer;
        int size = shared.Size;
        int partial = 0;
        if (window is not null && connection.Send(window) != SendResult.Queued)
        {
            shared.Error("client: first send not queued");
            return;
        }

        while (true)
        {
            int read = await connection.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (!shared.Stopping) shared.Error("client: server closed the connection");
                return;
            }

            Volatile.Write(ref _received, _received + read);
            if (window is null) continue;
            partial += read;
            if (partial < size) continue;
            int messages = partial / size;
            partial -= messages * size;
            if (shared.Stopping) continue;
            if (connection.Send(window.AsSpan(0, messages * size)) != SendResult.Queued)
            {
                if (!shared.Stopping) shared.Error("client: echo send not queued");
                return;
            }
        }
    }
}

internal sealed class BenchTcpClient(EndPoint server, TcpClientOptions options, Shared shared, ClientLoop loop)
    : TcpClient(server, options)
{
    protected override Task RunAsync(CancellationToken cancellationToken) => loop.RunAsync(this, cancellationToken);

    protected override void OnError(Exception error) => shared.Error(error);
}

internal sealed class BenchTlsClient(
    EndPoint server, TlsClientOptions tls, TcpClientOptions options, Shared shared, ClientLoop loop)
    : TlsClient(server, tls, options)
{
    protected override Task RunAsync(CancellationToken cancellationToken) => loop.RunAsync(this, cancellationToken);

    protected override void OnError(Exception error) => shared.Error(error);
}

/// <summary>TCP or TLS, echo or multicast.</summary>
internal sealed class TcpBenchmark(Shared shared, bool tls) : IBenchmark
{
    private readonly BenchOptions _o = shared.Options;
    private readonly List<(TcpClient Client, ClientLoop Loop)> _clients = [];
    private TcpServer? _server;
    private Thread? _multicaster;
    private long _multicastCalls;
    private long _multicastShort;

    private bool Echo => _o.Scenario == Scenario.Echo;

    public int Port => _server!.EndPoint.Port;

    public async Task SetUpAsync(CancellationToken cancellationToken)
    {
        // Echo: a connection never has more than one window (MESSAGES x SIZE) queued, so a queue of at
        // least that size never overflows. Multicast: the default 4 MiB queue, and Drop when it is full.
        int queueLimit = (int)Math.Max(4L * 1024 * 1024, (long)_o.Messages * _o.Size);
        var serverOptions = new TcpServerOptions
        {
            SendQueueLimitBytes = Echo ? queueLimit : 4 * 1024 * 1024,
            SendOverflow = Echo ? SendOverflowPolicy.Disconnect : SendOverflowPolicy.Drop,
            MaxSessions = Math.Max(10_000, _o.Clients),
            ListenBacklog = Math.Max(512, _o.Clients),
        };
        var loopback = new IPEndPoint(IPAddress.Loopback, 0);
        string? pin = null;
        if (tls)
        {
            X509Certificate2 certificate = Certificates.CreateSelfSigned("localhost");
            pin = Certificates.Sha256Fingerprint(certificate);
            _server = new BenchTlsServer(
                loopback, new TlsServerOptions { Certificate = certificate }, serverOptions, shared, Echo);
        }
        else
        {
            _server = new BenchTcpServer(loopback, serverOptions, shared, Echo);
        }

        _server.Start();
        var endPoint = new IPEndPoint(IPAddress.Loopback, _server.EndPoint.Port);
        byte[]? window = Echo ? MakeMessage((long)_o.Messages * _o.Size) : null;
        var clientOptions = new TcpClientOptions { SendQueueLimitBytes = queueLimit };
        for (int i = 0; i < _o.Clients; i++)
        {
            var loop = new ClientLoop(shared, window);
            TcpClient client = tls
                ? new BenchTlsClient(endPoint, new TlsClientOptions { TargetHost = "localhost",
                    ServerCertificateValidation = Certificates.PinSha256(pin!) },
                    clientOptions, shared, loop)
                : new BenchTcpClient(endPoint, clientOptions, shared, loop);
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            _clients.Add((client, loop));
        }

        // Every session must be up before the clock starts.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_server.SessionCount < _o.Clients)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The server did not see every client within 30 s.");
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Start()
    {
        shared.Started.TrySetResult();
        if (Echo) return;
        byte[] message = MakeMessage(_o.Size);
        TcpServer server = _server!;
        int sessions = _o.Clients;
        _multicaster = new Thread(() =>
        {
            // Multicast as fast as the send queues take it; when one is full (Drop policy: that
            // session lost this message) give the CPU to the send loops and the clients.
            long calls = 0, full = 0;
            while (!shared.Stopping)
            {
                calls++;
                if (server.Multicast(message) < sessions)
                {
                    full++;
                    Thread.Yield();
                }
            }

            Volatile.Write(ref _multicastCalls, calls);
            Volatile.Write(ref _multicastShort, full);
        })
        { Name = "multicast", IsBackground = true };
        _multicaster.Start();
    }

    public Sample Sample()
    {
        long bytes = 0;
        foreach (var (client, loop) in _clients)
        {
            bytes += loop.Received;
            if (!client.IsConnected && !shared.Stopping) shared.Error("client: disconnected during the run");
        }

        return new Sample(bytes, bytes / _o.Size);
    }

    public IEnumerable<string> Diagnostics()
    {
        _multicaster?.Join(TimeSpan.FromSeconds(5));
        if (!Echo)
        {
            long dropped = _server!.GetSessions().Sum(s => _server.FindSession(s.Id)?.SendsDropped ?? 0);
            yield return $"# server: {_multicastCalls} Multicast calls, {_multicastShort} returned fewer " +
                         $"than {_o.Clients} sessions; " +
                         $"{dropped} messages dropped by full send queues (Drop policy)";
        }
    }

    public async ValueTask DisposeAsync()
    {
        shared.Stop();
        _multicaster?.Join(TimeSpan.FromSeconds(5));
        await Task.WhenAll(_clients.Select(c => c.Client.DisconnectAsync())).ConfigureAwait(false);
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
    }

    internal static byte[] MakeMessage(long length)
    {
        var message = new byte[length];
        for (long i = 0; i < length; i++) message[i] = (byte)('a' + i % 26);
        return message;
    }
}
