// Loopback helpers for tunnel tests: connect, read exactly, bounded waits.
using System.Net;
using System.Net.Sockets;

namespace Gray.Tests.Harness;

public static class Tcp
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task<Socket> ConnectAsync(int port, IPAddress? address = null, IPAddress? from = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (from is not null) socket.Bind(new IPEndPoint(from, 0));
            using var cts = new CancellationTokenSource(Deadline);
            await socket.ConnectAsync(new IPEndPoint(address ?? IPAddress.Loopback, port), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True if the connection was refused at once: connect fails, or the first read ends.</summary>
    public static async Task<bool> IsRefusedAtOnceAsync(int port, IPAddress? from = null, TimeSpan? within = null)
    {
        Socket socket;
        try
        {
            socket = await ConnectAsync(port, from: from);
        }
        catch (SocketException error)
            when (error.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
        {
            return true;
        }

        using (socket)
        {
            return await IsClosedByPeerAsync(socket, within ?? TimeSpan.FromSeconds(2));
        }
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(Deadline);
        int got = 0;
        while (got < count)
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, cts.Token);
            if (read == 0) throw new EndOfStreamException($"closed after {got} of {count} bytes");
            got += read;
        }

        return buffer;
    }

    /// <summary>Reads until the peer's FIN.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(Deadline);
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0) all.Write(buffer, 0, read);
        return all.ToArray();
    }

    /// <summary>True when the peer closed or reset the connection.</summary>
    public static async Task<bool> IsClosedByPeerAsync(Socket socket, TimeSpan? within = null)
    {
        using var cts = new CancellationTokenSource(within ?? Deadline);
        try
        {
            return await socket.ReceiveAsync(new byte[1], SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false; // still open when the time was up
        }
    }

    /// <summary>
    /// A client that echoed one byte through <paramref name="port"/> and then kept quiet is closed
    /// after about 1 s (the relay's pair_idle_timeout in the tests that call this).
    /// </summary>
    public static async Task AssertClosedAfterOneSecondIdleAsync(int port)
    {
        using var idle = await ConnectAsync(port);
        await idle.SendAsync("x"u8.ToArray());
        await ReadExactlyAsync(idle, 1);
        var quiet = DateTime.UtcNow;
        Assert.True(await IsClosedByPeerAsync(idle, TimeSpan.FromSeconds(10)));
        Assert.InRange(DateTime.UtcNow - quiet, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(5));
    }

    /// <summary>True if a connection to the port is refused (nothing listens).</summary>
    public static async Task<bool> IsRefusedAsync(int port)
    {
        try
        {
            using var socket = await ConnectAsync(port);
            return false;
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
        {
            return false; // caught the listener as it closed: ask again
        }
    }
}
