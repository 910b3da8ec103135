// Runs an echo server, exhausts this process's file descriptors so that accept() fails with
// EMFILE, checks that a new connection is refused at once (shed) rather than left hanging, then
// frees the descriptors and checks that the same server accepts and serves again.
// Prints one line per step; exit code 0 means the server shed cleanly and recovered.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Gray.Net;

const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux
var deadline = TimeSpan.FromSeconds(20);

await using var server = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0),
    new TcpServerOptions { MaxAcceptRetryDelay = TimeSpan.FromMilliseconds(100) });
server.Start();
Console.WriteLine($"echo server on {server.EndPoint}"); // opens stdout before descriptors run out
await EchoOnceAsync(server.EndPoint); // warm up every code path before descriptors run out
// The warm-up session closes in the background; its socket must be gone before the descriptors are
// counted, or it would leave one spare and the exhausted accept could succeed.
for (var until = DateTime.UtcNow + deadline; server.SessionCount > 0 && DateTime.UtcNow < until;) await Task.Delay(10);
Check(server.SessionCount == 0, "the warm-up session closed");

// Starting a thread takes the runtime a descriptor; one started while none is left aborts it
// ("Out of memory."). Start the pool's threads now, so that none is needed while exhausted.
const int PoolThreads = 16;
ThreadPool.SetMinThreads(PoolThreads, PoolThreads);
using (var started = new Barrier(PoolThreads))
{
    await Task.WhenAll(Enumerable.Range(0, PoolThreads).Select(_ => Task.Factory.StartNew(
        () => started.SignalAndWait(deadline), CancellationToken.None, TaskCreationOptions.None,
            TaskScheduler.Default)));
}

var original = new Rlimit();
Check(Native.getrlimit(RlimitNoFile, ref original) == 0, "getrlimit");
var fillers = new List<SafeHandle>();
Socket client;
try
{
    var lowered = original with { Current = (ulong)Directory.GetFiles("/proc/self/fd").Length + 16 };
    Check(Native.setrlimit(RlimitNoFile, ref lowered) == 0, "setrlimit");
    while (true)
    {
        int fd = Native.dup(0);
        if (fd < 0) break; // EMFILE
        fillers.Add(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true));
        Check(fillers.Count < 10_000, "the descriptor limit was reached");
    }

    fillers[^1].Dispose(); // one descriptor for the client socket; none is left for accept()
    fillers.RemoveAt(fillers.Count - 1);
    client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    bool reset = false;
    try
    {
        await client.ConnectAsync(server.EndPoint).WaitAsync(deadline); // the kernel completes it
    }
    catch (SocketException error) when (error.SocketErrorCode == SocketError.ConnectionReset)
    {
        reset = true; // shed so fast that the reset beat the connect's completion
    }

    var until = DateTime.UtcNow + deadline;
    while (server.AcceptErrors == 0 && DateTime.UtcNow < until) await Task.Delay(10);
    Check(server.AcceptErrors > 0, "accept failed with EMFILE");
    Console.WriteLine($"accept errors while exhausted: {server.AcceptErrors}");

    // Shed, not left hanging: the server spends its spare descriptor to refuse the connection.
    try
    {
        reset = reset || await client.ReceiveAsync(new byte[1], SocketFlags.None).WaitAsync(deadline) == 0;
    }
    catch (SocketException)
    {
        reset = true;
    }

    Check(reset, "the connection was shed while out of descriptors");
    Console.WriteLine($"shed while exhausted: {server.RefusedFor(RefuseReason.DescriptorsExhausted)}");
    client.Dispose();
}
finally
{
    foreach (var filler in fillers) filler.Dispose();
    Native.setrlimit(RlimitNoFile, ref original);
}

using (client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
{
    await client.ConnectAsync(server.EndPoint).WaitAsync(deadline);
    using var stream = new NetworkStream(client);
    await stream.WriteAsync("recovered"u8.ToArray());
    var reply = new byte[9];
    await stream.ReadExactlyAsync(reply).AsTask().WaitAsync(deadline);
    Check(reply.AsSpan().SequenceEqual("recovered"u8), "echo after recovery");
}

Console.WriteLine($"recovered: sessions accepted {server.SessionsAccepted}, server started {server.IsStarted}");
return 0;

static async Task EchoOnceAsync(IPEndPoint endPoint)
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    await socket.ConnectAsync(endPoint);
    using var stream = new NetworkStream(socket);
    await stream.WriteAsync("warm"u8.ToArray());
    await stream.ReadExactlyAsync(new byte[4]);
}

static void Check(bool condition, string what)
{
    if (condition) return;
    Console.WriteLine($"FAILED: {what}");
    Environment.Exit(1);
}

internal sealed class EchoServer(IPEndPoint endPoint, TcpServerOptions options) : TcpServer(endPoint, options)
{
    protected override TcpSession CreateSession() => new EchoSession(this);
}

internal sealed class EchoSession(TcpServer server) : TcpSession(server)
{
    protected override void OnReceived(ReadOnlySpan<byte> data) => Send(data);
}

[StructLayout(LayoutKind.Sequential)]
internal record struct Rlimit(ulong Current, ulong Maximum);

internal static class Native
{
    [DllImport("libc", SetLastError = true)]
    public static extern int getrlimit(int resource, ref Rlimit limit);

    [DllImport("libc", SetLastError = true)]
    public static extern int setrlimit(int resource, ref Rlimit limit);

    [DllImport("libc", SetLastError = true)]
    public static extern int dup(int fd);
}
