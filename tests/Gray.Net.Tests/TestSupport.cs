// Shared helpers for the tests: echo servers, raw loopback sockets, and bounded waits.
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Gray.Net.Tests;

internal static class Loopback
{
    public static IPEndPoint AnyPort => new(IPAddress.Loopback, 0);

    /// <summary>Every wait in the tests ends by this deadline.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Deadline);
        await socket.ConnectAsync(endPoint, cts.Token);
        return socket;
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes or throws.</summary>
    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(Deadline);
        await stream.ReadExactlyAsync(buffer, cts.Token);
        return buffer;
    }

    /// <summary>True when the peer closed or reset the connection (read returns 0 or fails).</summary>
    public static async Task<bool> IsClosedByPeerAsync(Socket socket)
    {
        var buffer = new byte[1];
        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            return await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>
    /// Asserts that a new connection is refused at once: on loopback the server's RST can arrive
    /// before the connect completes (connect fails) or just after (the first read fails).
    /// </summary>
    public static async Task AssertRefusedAsync(Func<Task<Socket>> connect, TimeSpan? within = null)
    {
        var attempt = RefusedAsync(connect);
        var limit = within ?? TimeSpan.FromSeconds(3);
        Assert.Same(attempt, await Task.WhenAny(attempt, Task.Delay(limit)));
        Assert.True(await attempt, "the connection was accepted");
    }

    private static async Task<bool> RefusedAsync(Func<Task<Socket>> connect)
    {
        Socket socket;
        try
        {
            socket = await connect();
        }
        catch (SocketException error)
            when (error.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
        {
            return true;
        }

        using (socket)
        {
            return await IsClosedByPeerAsync(socket);
        }
    }

    private static readonly Lazy<X509Certificate2> s_certificate =
        new(() => Certificates.CreateSelfSigned("localhost"));

    public static X509Certificate2 Certificate => s_certificate.Value;
}

/// <summary>Echoes every byte back (the seed's echo server).</summary>
internal sealed class EchoServer(IPEndPoint endPoint, TcpServerOptions? options = null) : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new EchoSession(this);
}

internal sealed class EchoSession(TcpServer server) : TcpSession(server)
{
    protected override void OnReceived(ReadOnlySpan<byte> data) => Send(data);
}

/// <summary>Echoes in pull style: it reads only as fast as its peer takes the echo, so any volume fits.</summary>
internal sealed class PullEchoServer(IPEndPoint endPoint) : TcpServer(endPoint)
{
    protected override TcpSession CreateSession() => new PullEchoSession(this);

    /// <summary>Echoes with SendAsync, then half-closes when the peer has.</summary>
    internal sealed class PullEchoSession(TcpServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await ReceiveAsync(buffer, cancellationToken)) > 0)
                await SendAsync(buffer.AsMemory(0, read), cancellationToken);
            await ShutdownSendAsync(cancellationToken);
        }
    }
}

internal sealed class TlsEchoServer(IPEndPoint endPoint, TlsServerOptions tls, TcpServerOptions? options = null)
    : TlsServer(endPoint, tls, options)
{
    protected override TcpSession CreateSession() => new TlsEchoSession(this);
}

internal sealed class TlsEchoSession(TlsServer server) : TlsSession(server)
{
    protected override void OnReceived(ReadOnlySpan<byte> data) => Send(data);
}
