// Forwards bytes both ways between a connection and the other end of a tunnel: another connection, or
// a multiplexed channel. One pump per direction, written once against the two kinds of side
// (SpliceSides): pooled buffers, zero-byte reads while idle, half-close forwarded as half-close, both
// sides closed when either fails, and one idle timeout (decision 0031). The splice(2) path was removed
// (decision 0022).
using Gray.Net.Internal;
using Gray.Net.Multiplexing;

namespace Gray.Net;

public static class Splice
{
    /// <summary>Buffer rented per read while bytes flow, in bytes (as YARP's StreamCopier; decision 0021).</summary>
    public const int BufferBytes = 64 * 1024;

    /// <summary>
    /// Copies a→b and b→a until both directions have ended. End of stream on one side becomes a
    /// half-close (FIN) on the other; an error closes both. The caller must
    /// own both connections' streams (no Send and no other reader while this runs).
    /// <paramref name="firstReadOfB"/> is a read of b already pending (a zero-byte read), awaited
    /// before b's first real read.
    /// </summary>
    public static Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b,
        Task? firstReadOfB = null, CancellationToken cancellationToken = default) =>
        RunAsync(a, b, firstReadOfB, idleTimeout: null, cancellationToken);

    /// <summary>
    /// As above; with <paramref name="idleTimeout"/>, a splice that carries no byte for that long is closed;
    /// with <paramref name="limits"/>, each direction sends no faster than its buckets allow (the reading side
    /// then waits, so its sender is slowed by TCP's own flow control). <paramref name="readFromA"/> are bytes
    /// the caller already read from a (a ClientHello it routed by): they go to b first.
    /// </summary>
    public static Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b, Task? firstReadOfB,
        TimeSpan? idleTimeout, CancellationToken cancellationToken = default, SpliceLimits limits = default,
        ReadOnlyMemory<byte> readFromA = default) =>
        RunAsync(a, new ConnectionSide(b, firstReadOfB), b.ConnectionClosed, idleTimeout, limits, readFromA,
            cancellationToken);

    /// <summary>
    /// The same between connection <paramref name="a"/> and channel <paramref name="b"/>: a's bytes go
    /// out as data frames within the credit b's peer grants, b's come back as they arrive. An idle
    /// timeout resets the channel and closes the connection.
    /// </summary>
    public static Task<SpliceResult> RunAsync(TcpConnection a, MuxChannel b, TimeSpan? idleTimeout,
        CancellationToken cancellationToken = default, SpliceLimits limits = default,
        ReadOnlyMemory<byte> readFromA = default) =>
        RunAsync(a, new ChannelSide(b), CancellationToken.None, idleTimeout, limits, readFromA, cancellationToken);

    private static async Task<SpliceResult> RunAsync(TcpConnection a, SpliceSide b, CancellationToken bClosed,
        TimeSpan? idleTimeout, SpliceLimits limits, ReadOnlyMemory<byte> readFromA,
        CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(
            cancellationToken, a.ConnectionClosed, bClosed);
        var wake = linked.Token.Register(static side => ((SpliceSide)side!).OnCanceled(), b);
        var sideA = new ConnectionSide(a, null);
        var watchdog = new IdleWatchdog(a.Time);
        var aToB = PumpAsync(sideA, b, linked, watchdog, limits.AToB, a.Time, readFromA);
        var bToA = PumpAsync(b, sideA, linked, watchdog, limits.BToA, a.Time, default);
        var watching = idleTimeout is { } idle
            ? watchdog.WatchAsync(idle, () => { sideA.Abort(); b.Abort(); }, linked.Token)
            : Task.CompletedTask;
        var (forward, forwardEnd) = await aToB.ConfigureAwait(false);
        var (backward, backwardEnd) = await bToA.ConfigureAwait(false);
        bool endedByPeer = b.EndedByPeer; // read before the cancel below ends b from this side
        wake.Dispose();
        await linked.CancelAsync().ConfigureAwait(false);
        await watching.ConfigureAwait(false);
        var end = watchdog.TimedOut ? SpliceEnd.IdleTimeout
            : endedByPeer ? SpliceEnd.BFailed
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

    // One direction: room on the output first (a channel's credit bounds the read), then a read, then
    // the rate limit's wait, then the write that hands the buffer over; the input learns its bytes were
    // taken (a channel's grant).
    private static async Task<(long Bytes, PumpEnd End)> PumpAsync(SpliceSide from, SpliceSide to,
        CancellationTokenSource linked, IdleWatchdog watchdog, DirectionLimit? limit, TimeProvider time,
        ReadOnlyMemory<byte> alreadyRead)
    {
        CancellationToken cancellationToken = linked.Token;
        long total = 0;
        bool writing = false; // which side a failure belongs to
        try
        {
            // What the caller read before the splice goes first, within the output's room as any read.
            while (total < alreadyRead.Length)
            {
                writing = true;
                int chunk = Math.Min(await to.WaitForRoomAsync(cancellationToken).ConfigureAwait(false),
                    alreadyRead.Length - (int)total);
                byte[] buffer = BufferPool.Bytes.Rent(chunk);
                alreadyRead.Span.Slice((int)total, chunk).CopyTo(buffer);
                await to.WriteAsync(buffer, chunk, cancellationToken).ConfigureAwait(false);
                writing = false;
                total += chunk;
            }

            while (true)
            {
                writing = true;
                int room = await to.WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
                writing = false;
                if (limit is not null) room = limit.MaxChunkBytes(room);
                var (buffer, read) = await from.ReadAsync(room, cancellationToken).ConfigureAwait(false);
                if (buffer is null) break;
                if (limit is not null)
                {
                    try
                    {
                        await limit.WaitAsync(read, time, cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        BufferPool.Bytes.Return(buffer);
                        throw;
                    }
                }

                writing = true;
                await to.WriteAsync(buffer, read, cancellationToken).ConfigureAwait(false);
                writing = false;
                from.Consumed(read);
                watchdog.Touch();
                total += read;
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
            from.Abort();
            to.Abort();
            return (total, canceled ? PumpEnd.Canceled : writing ? PumpEnd.ToFailed : PumpEnd.FromFailed);
        }
    }
}
