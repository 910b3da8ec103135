// Waiting until a started program's port accepts connections (free ports come from Gray.Testing).
using System.Net;
using System.Net.Sockets;

namespace Gray.TunnelBench;

internal static class Listening
{
    /// <summary>How long a started proxy may take to listen.</summary>
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(50);

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
                throw new BenchException($"{owner.Name}: port {port} did not accept within " +
                    $"{ListenTimeout.TotalSeconds:0} s:\n{owner.Output}");
            }
        }
    }
}
