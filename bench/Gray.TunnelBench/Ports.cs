// Free loopback ports, and waiting until a port accepts connections.
using System.Net;
using System.Net.Sockets;

namespace Gray.TunnelBench;

internal static class Ports
{
    /// <summary>How long a started proxy may take to listen.</summary>
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

    /// <summary>A port nothing listens on now (the kernel's choice; it may be taken again, rarely).</summary>
    public static int Free()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>A block of <paramref name="count"/> consecutive free ports below the ephemeral range.</summary>
    public static int FreeBlock(int count)
    {
        const int Low = 22000, High = 32000; // below Linux's ephemeral range (32768-60999)
        for (int start = Low + Random.Shared.Next(0, 200) * 20; start + count < High; start += count)
        {
            if (Enumerable.Range(start, count).All(IsFree)) return start;
        }

        throw new BenchException($"no {count} consecutive free ports in {Low}-{High}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static async Task WaitUntilAcceptingAsync(int port, ChildProcess owner)
    {
        var deadline = DateTime.UtcNow + ListenTimeout;
        while (true)
        {
            owner.EnsureRunning();
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(RetryPause);
            }
            catch (SocketException)
            {
                throw new BenchException($"{owner.Name}: port {port} did not accept within {ListenTimeout.TotalSeconds:0} s:\n{owner.Output}");
            }
        }
    }
}
