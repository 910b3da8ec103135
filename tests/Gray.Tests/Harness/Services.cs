// The private services behind the tunnel in tests: in-process Gray.Net servers on loopback.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gray.Net;

namespace Gray.Tests.Harness;

/// <summary>Echoes every byte; answers a half-close by finishing the echo and closing.</summary>
public sealed class EchoService(int port = 0) : TcpServer(new IPEndPoint(IPAddress.Loopback, port))
{
    protected override TcpSession CreateSession() => new EchoSession(this);

    internal sealed class EchoSession(TcpServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0)
            {
                await SendAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            await FlushAsync(cancellationToken);
        }
    }
}

/// <summary>An echo behind TLS with a certificate of its own for <paramref name="name"/> (self-signed).</summary>
public sealed class TlsEchoService(string name) : TlsServer(new IPEndPoint(IPAddress.Loopback, 0),
    new TlsServerOptions { Certificate = Gray.Net.Certificates.CreateSelfSigned(name) })
{
    protected override TcpSession CreateSession() => new EchoService.EchoSession(this);
}

/// <summary>Speaks first: sends a banner on connect, then echoes.</summary>
public sealed class BannerService(string banner) : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    public byte[] Banner { get; } = Encoding.ASCII.GetBytes(banner);

    protected override TcpSession CreateSession() => new BannerSession(this);

    private sealed class BannerSession(BannerService server) : TcpSession(server)
    {
        protected override void OnConnected() => Send(server.Banner);

        protected override void OnReceived(ReadOnlySpan<byte> data) => Send(data);
    }
}

/// <summary>Reads until the client's FIN, then answers with the SHA-256 of what it read.</summary>
public sealed class HashService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    protected override TcpSession CreateSession() => new HashSession(this);

    private sealed class HashSession(TcpServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0) hash.AppendData(buffer, 0, read);
            await SendAsync(hash.GetHashAndReset(), cancellationToken);
            await FlushAsync(cancellationToken);
        }
    }
}

/// <summary>Sends a goodbye and half-closes first, then records what the client still sends.</summary>
public sealed class ClosingFirstService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    public TaskCompletionSource<byte[]> ReceivedAfterFin { get; } =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override TcpSession CreateSession() => new ClosingSession(this);

    private sealed class ClosingSession(ClosingFirstService server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            await SendAsync("goodbye"u8.ToArray(), cancellationToken);
            await ShutdownSendAsync(cancellationToken);
            var received = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0) received.Write(buffer, 0, read);
            server.ReceivedAfterFin.TrySetResult(received.ToArray());
        }
    }
}
