// The service behind every tunnel for the request/response, connection and idle workloads: an echo
// server run as its own process (`--echo-target`), so its CPU is not the load generator's.
using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace Gray.TunnelBench;

internal static class EchoTarget
{
    public const string Flag = "--echo-target";

    /// <summary>Read buffer per connection while bytes flow, in bytes; idle connections hold none.</summary>
    private const int BufferBytes = 16 * 1024;

    private const int Backlog = 4096;

    /// <summary>Starts the echo target as a child process; its port.</summary>
    public static async Task<(ChildProcess Process, int Port)> StartAsync()
    {
        var child = ChildProcess.StartSelf("echo target", Flag);
        string line = await child.WaitForLineAsync(
            l => l.StartsWith("listening ", StringComparison.Ordinal), "echo target", TimeSpan.FromSeconds(30));
        return (child, int.Parse(line["listening ".Length..]));
    }

    /// <summary>The child's main: listens on a free loopback port, prints it, echoes until killed.</summary>
    public static async Task<int> RunAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(Backlog);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        // The same port number echoes UDP too, for the datagram workload.
        var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _ = EchoDatagramsAsync(udp);
        Console.WriteLine($"listening {port}");
        while (true)
        {
            var socket = await listener.AcceptAsync();
            socket.NoDelay = true;
            _ = EchoAsync(socket);
        }
    }

    private static async Task EchoDatagramsAsync(Socket socket)
    {
        byte[] buffer = new byte[64 * 1024];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (true)
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any);
            await socket.SendToAsync(buffer.AsMemory(0, received.ReceivedBytes), SocketFlags.None,
                received.RemoteEndPoint);
        }
    }

    private static async Task EchoAsync(Socket socket)
    {
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                if (buffer is null) await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                buffer ??= ArrayPool<byte>.Shared.Rent(BufferBytes);
                int read = await socket.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0) break;
                for (int sent = 0; sent < read;)
                    sent += await socket.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None);
                if (read < buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
                }
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }
        finally
        {
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
            socket.Dispose();
        }
    }
}
