// A loopback HTTP/1.1 responder whose answer the test scripts byte by byte (redirects, endless bodies,
// bogus charsets), counting requests and how many were in progress at once.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gray.Tests.Harness;

public sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _requests, _active, _mostActive;

    public ScriptedHttpServer()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Writes the whole response (status line onwards) to the connection.</summary>
    public Func<Stream, CancellationToken, Task> Respond { get; set; } =
        (stream, ct) => WriteAsync(stream, 404, "", ct);

    public string Url(string path = "/keys") => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}{path}";

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests being answered now.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>The most requests that were being answered at the same moment.</summary>
    public int MostConcurrent => Volatile.Read(ref _mostActive);

    public static Task WriteAsync(Stream stream, int status, string body, CancellationToken cancellationToken,
        string contentType = "text/plain; charset=utf-8", string extraHeaders = "")
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        string head = $"HTTP/1.1 {status} Scripted\r\nContent-Type: {contentType}\r\nContent-Length: " +
            $"{content.Length}\r\n{extraHeaders}Connection: close\r\n\r\n";
        return stream.WriteAsync(Encoding.ASCII.GetBytes(head).Concat(content).ToArray(), cancellationToken).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        var running = new List<Task>();
        try
        {
            while (true) running.Add(ServeAsync(await _listener.AcceptTcpClientAsync(_stop.Token)));
        }
        catch (Exception error) when (error is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(running);
    }

    private async Task ServeAsync(System.Net.Sockets.TcpClient client)
    {
        using (client)
        {
            int active = Interlocked.Increment(ref _active);
            Interlocked.Increment(ref _requests);
            int most;
            while (active > (most = Volatile.Read(ref _mostActive))
                   && Interlocked.CompareExchange(ref _mostActive, active, most) != most)
            {
            }

            try
            {
                var stream = client.GetStream();
                await ReadHeadAsync(stream);
                await Respond(stream, _stop.Token);
            }
            catch (Exception error) when (error is IOException or OperationCanceledException or SocketException)
            {
                // the relay hung up (as it should past the size cap) or the test ended
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }

    private async Task ReadHeadAsync(Stream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 64 * 1024 && await stream.ReadAsync(one, _stop.Token) == 1)
        {
            head.Add(one[0]);
            if (head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n') return;
        }
    }
}
