// The shared ports' workloads: services reached by name on one port, HTTP by its Host header and TLS by
// its server name (SNI, passed through). Request/response over 50 kept connections and connection rate
// over 20 loops, as the plain workloads, against haproxy doing the same routing.
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Gray.TunnelBench.Setups;

namespace Gray.TunnelBench.Workloads;

internal static class ByName
{
    public static async Task RunHttpAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        byte[] keep = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {NamedTargets.HttpHost}:{port}\r\n\r\n");
        byte[] close = Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: {NamedTargets.HttpHost}:{port}\r\nConnection: close\r\n\r\n");
        await MeasureAsync(setup, options, results, Metrics.HttpByNameRate, Metrics.HttpByNameConnections,
            async ct =>
            {
                var socket = await Loopback.ConnectAsync(port, ct);
                var reader = new HttpReader(socket);
                return (() => reader.RoundTripAsync(keep, ct), socket);
            },
            async ct =>
            {
                using var socket = await Loopback.ConnectAsync(port, ct);
                await new HttpReader(socket).RoundTripAsync(close, ct);
            });
    }

    public static async Task RunTlsAsync(TunnelSetup setup, int port, BenchOptions options, Results results)
    {
        byte[] request = new byte[Loopback.MessageBytes];
        Random.Shared.NextBytes(request);
        await MeasureAsync(setup, options, results, Metrics.TlsBySniRate, Metrics.TlsBySniConnections,
            async ct =>
            {
                var tls = await ConnectTlsAsync(port, ct);
                byte[] response = new byte[request.Length];
                return (async () =>
                {
                    await tls.WriteAsync(request, ct);
                    await tls.ReadExactlyAsync(response, ct);
                }, tls);
            },
            async ct =>
            {
                await using var tls = await ConnectTlsAsync(port, ct);
                await tls.WriteAsync(request, ct);
                await tls.ReadExactlyAsync(new byte[request.Length], ct);
            });
    }

    // Request/response on kept connections, then the connection rate; each ratio is per setup as elsewhere.
    private static async Task MeasureAsync(TunnelSetup setup, BenchOptions options, Results results,
        Metric rate, Metric connections, Func<CancellationToken, Task<(Func<Task> RoundTrip, IDisposable Owner)>> open,
        Func<CancellationToken, Task> oneConnection)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2 * options.Seconds + 60));
        var opened = new List<(Func<Task> RoundTrip, IDisposable Owner)>();
        try
        {
            for (int i = 0; i < RequestResponse.Connections; i++) opened.Add(await open(cts.Token));
            long end = Stopwatch.GetTimestamp() + (long)(options.Seconds * Stopwatch.Frequency);
            long start = Stopwatch.GetTimestamp();
            long[] counts = await Task.WhenAll(opened.Select(c => LoopAsync(c.RoundTrip, end)));
            results.Add(setup.Name, rate, counts.Sum() / Stopwatch.GetElapsedTime(start).TotalSeconds);

            end = Stopwatch.GetTimestamp() + (long)(options.Seconds * Stopwatch.Frequency);
            start = Stopwatch.GetTimestamp();
            counts = await Task.WhenAll(Enumerable.Range(0, ConnectionRate.Loops)
                .Select(_ => LoopAsync(() => oneConnection(cts.Token), end)));
            results.Add(setup.Name, connections, counts.Sum() / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        catch (Exception error) when (error is OperationCanceledException or IOException or SocketException
            or System.Security.Authentication.AuthenticationException)
        {
            throw new BenchException($"{setup.Name}: {rate.Title} failed: {error.Message}");
        }
        finally
        {
            foreach (var (_, owner) in opened) owner.Dispose();
        }
    }

    private static async Task<long> LoopAsync(Func<Task> once, long endTimestamp)
    {
        await Task.Yield();
        long count = 0;
        while (Stopwatch.GetTimestamp() < endTimestamp)
        {
            await once();
            count++;
        }

        return count;
    }

    private static async Task<SslStream> ConnectTlsAsync(int port, CancellationToken cancellationToken)
    {
        var socket = await Loopback.ConnectAsync(port, cancellationToken);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = NamedTargets.TlsHost,
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // the bench's own service
            }, cancellationToken);
            return tls;
        }
        catch
        {
            await tls.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a request and reads one response (head, then Content-Length bytes, or to the end).</summary>
    private sealed class HttpReader(Socket socket)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _held;

        public async Task RoundTripAsync(byte[] request, CancellationToken cancellationToken)
        {
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            int headEnd;
            while ((headEnd = _buffer.AsSpan(0, _held).IndexOf("\r\n\r\n"u8)) < 0) await FillAsync(cancellationToken);
            string head = Encoding.ASCII.GetString(_buffer, 0, headEnd);
            if (!head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
                throw new IOException($"the answer was {head.Split('\r')[0]}");
            int length = head.Split("\r\n").Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && p[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                .Select(p => int.Parse(p[1].Trim())).FirstOrDefault();
            int total = headEnd + 4 + length;
            while (_held < total) await FillAsync(cancellationToken);
            _buffer.AsSpan(total, _held - total).CopyTo(_buffer);
            _held -= total;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            int read = await socket.ReceiveAsync(_buffer.AsMemory(_held), SocketFlags.None, cancellationToken);
            if (read == 0) throw new IOException("the connection closed before the whole answer");
            _held += read;
        }
    }
}
