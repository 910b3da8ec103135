// A TCP proxy that delays every chunk by a fixed time in each direction, to make a slow link.
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Gray.Tests.Harness;

public sealed class DelayProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _upstream;
    private readonly TimeSpan _delay;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public DelayProxy(IPEndPoint listen, IPEndPoint upstream, TimeSpan delay)
    {
        _upstream = upstream;
        _delay = delay;
        _listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(listen);
        _listener.Listen(64);
        _accepting = AcceptAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception)
        {
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket downstream;
            try
            {
                downstream = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var upstream = new Socket(
                    AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                using (downstream)
                {
                    try
                    {
                        downstream.NoDelay = true;
                        await upstream.ConnectAsync(_upstream, _stop.Token);
                        await Task.WhenAll(PumpAsync(downstream, upstream), PumpAsync(upstream, downstream));
                    }
                    catch (Exception)
                    {
                        // a test proxy: a failed connection just ends
                    }
                }
            });
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var queue = Channel.CreateUnbounded<(byte[] Data, DateTime Due)>();
        var writer = Task.Run(async () =>
        {
            await foreach (var (data, due) in queue.Reader.ReadAllAsync(_stop.Token))
            {
                var wait = due - DateTime.UtcNow;
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _stop.Token);
                if (data.Length == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(data, SocketFlags.None, _stop.Token);
            }
        });
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            do
            {
                read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                queue.Writer.TryWrite((buffer[..read], DateTime.UtcNow + _delay));
            }
            while (read > 0);
        }
        finally
        {
            queue.Writer.TryComplete();
            await writer;
        }
    }
}
