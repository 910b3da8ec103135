// Services for rate measurements: a sink that counts what it receives, and a source that writes as fast as
// its client reads.
using System.Net;
using Gray.Net;

namespace Gray.Tests.Harness;

/// <summary>Reads and discards; counts every byte received on all its connections.</summary>
public sealed class SinkService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    private long _received;

    public long Received => Interlocked.Read(ref _received);

    protected override TcpSession CreateSession() => new SinkSession(this);

    private sealed class SinkSession(SinkService server) : TcpSession(server)
    {
        protected override void OnReceived(ReadOnlySpan<byte> data) =>
            Interlocked.Add(ref server._received, data.Length);
    }
}

/// <summary>Writes 64 KiB chunks for as long as its client reads.</summary>
public sealed class SourceService() : TcpServer(new IPEndPoint(IPAddress.Loopback, 0))
{
    protected override TcpSession CreateSession() => new SourceSession(this);

    private sealed class SourceSession(TcpServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            var chunk = new byte[64 * 1024];
            while (await SendAsync(chunk, cancellationToken))
            {
            }
        }
    }
}

/// <summary>Bytes per second over a window, measured from counts taken at its ends.</summary>
public static class Rate
{
    /// <summary>Waits <paramref name="warmUp"/> (the bucket's burst passes), then counts over
    /// <paramref name="window"/>.</summary>
    public static async Task<double> MeasureAsync(Func<long> count, TimeSpan warmUp, TimeSpan window)
    {
        await Task.Delay(warmUp);
        long first = count();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(window);
        long last = count();
        return (last - first) / clock.Elapsed.TotalSeconds;
    }
}
