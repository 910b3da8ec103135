// Forwards bytes both ways between two connections with pooled buffers, zero-byte reads while
// idle, half-close forwarded as half-close, and both sides closed when either fails. The splice(2)
// path was measured and removed (decision 0022).
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

public static class Splice
{
    /// <summary>
    /// Buffer rented per direction while bytes flow, in bytes (as YARP's StreamCopier; decision 0021).
    /// </summary>
    public const int BufferBytes = 64 * 1024;

    /// <summary>
    /// Copies a→b and b→a until both directions have ended. End of stream on one side becomes a
    /// half-close (FIN, after TLS close_notify) on the other; an error closes both. The caller must
    /// own both connections' streams (no Send and no other reader while this runs).
    /// <paramref name="firstReadOfB"/> is a read of b already pending (a zero-byte read), awaited
    /// before b's first real read.
    /// </summary>
    public static Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b,
        Task? firstReadOfB = null, CancellationToken cancellationToken = default) =>
        RunAsync(a, b, firstReadOfB, idleTimeout: null, cancellationToken);

    /// <summary>
    /// As above; with <paramref name="idleTimeout"/>, a splice that carries no byte for that long is closed.
    /// </summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b, Task? firstReadOfB,
        TimeSpan? idleTimeout, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, a.ConnectionClosed,
            b.ConnectionClosed);
        var watchdog = new IdleWatchdog(a.Time);
        var aToB = PumpAsync(a, b, null, linked, watchdog);
        var bToA = PumpAsync(b, a, firstReadOfB, linked, watchdog);
        var watching = idleTimeout is { } idle
            ? watchdog.WatchAsync(idle, () => { a.Disconnect(); b.Disconnect(); }, progress: null, linked.Token)
            : Task.CompletedTask;
        var (forward, forwardEnd) = await aToB.ConfigureAwait(false);
        var (backward, backwardEnd) = await bToA.ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await watching.ConfigureAwait(false);
        var end = watchdog.TimedOut ? SpliceEnd.IdleTimeout
            : forwardEnd is PumpEnd.FromFailed ? SpliceEnd.AFailed
            : forwardEnd is PumpEnd.ToFailed ? SpliceEnd.BFailed
            : backwardEnd is PumpEnd.FromFailed ? SpliceEnd.BFailed
            : backwardEnd is PumpEnd.ToFailed ? SpliceEnd.AFailed
            : forwardEnd is PumpEnd.Canceled || backwardEnd is PumpEnd.Canceled ? SpliceEnd.Canceled
            : SpliceEnd.Completed;
        return new SpliceResult(forward, backward, end);
    }

    /// <summary>How one direction ended: its end of stream forwarded, or which of its two sides failed.</summary>
    private enum PumpEnd
    {
        Completed,
        FromFailed,
        ToFailed,
        Canceled,
    }

    private static async Task<(long Bytes, PumpEnd End)> PumpAsync(TcpConnection from, TcpConnection to,
        Task? firstRead, CancellationTokenSource linked, IdleWatchdog watchdog)
    {
        Stream source = from.Stream, target = to.Stream;
        CancellationToken cancellationToken = linked.Token;
        byte[]? buffer = null;
        long total = 0;
        bool writing = false; // which side a failure belongs to
        try
        {
            if (firstRead is not null) await firstRead.ConfigureAwait(false);
            else await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);

            while (true)
            {
                buffer ??= BufferPool.Bytes.Rent(BufferBytes);
                int read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                from.CountReceived(read);
                writing = true;
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                writing = false;
                to.CountSent(read);
                watchdog.Touch();
                total += read;
                if (read < buffer.Length)
                {
                    // Drained: hold no buffer while this direction is idle.
                    BufferPool.Bytes.Return(buffer);
                    buffer = null;
                    await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }
            }

            writing = true;
            await to.ShutdownSendAsync(cancellationToken).ConfigureAwait(false);
            return (total, PumpEnd.Completed);
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || error is IOException)
        {
            // One side failed: nothing more can be delivered in order, so end both.
            bool canceled = linked.IsCancellationRequested;
            linked.Cancel();
            from.Disconnect();
            to.Disconnect();
            return (total, canceled ? PumpEnd.Canceled : writing ? PumpEnd.ToFailed : PumpEnd.FromFailed);
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }
    }
}
