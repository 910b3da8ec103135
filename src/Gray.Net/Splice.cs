// Forwards bytes both ways between two connections with pooled buffers, zero-byte reads while
// idle, half-close forwarded as half-close, and both sides closed when either fails. The splice(2)
// path was measured and removed (decision 0022).
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

/// <summary>How a splice ended, with the bytes carried each way.</summary>
public readonly record struct SpliceResult(long BytesAToB, long BytesBToA, bool Faulted);

public static class Splice
{
    /// <summary>Buffer rented per direction while bytes flow, in bytes (as YARP's StreamCopier; decision 0021).</summary>
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

    /// <summary>As above; with <paramref name="idleTimeout"/>, a splice that carries no byte for that long is closed.</summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b, Task? firstReadOfB,
        TimeSpan? idleTimeout, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, a.ConnectionClosed, b.ConnectionClosed);
        var activity = new Activity(a.Time);
        var aToB = PumpAsync(a, b, null, linked, activity);
        var bToA = PumpAsync(b, a, firstReadOfB, linked, activity);
        var watchdog = idleTimeout is { } idle ? WatchIdleAsync(a, b, idle, activity, linked.Token) : Task.CompletedTask;
        var (forward, forwardFailed) = await aToB.ConfigureAwait(false);
        var (backward, backwardFailed) = await bToA.ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await watchdog.ConfigureAwait(false);
        return new SpliceResult(forward, backward, forwardFailed || backwardFailed || activity.TimedOut);
    }

    // Checks a few times per timeout whether any byte moved; closes both sides when none did.
    private static async Task WatchIdleAsync(TcpConnection a, TcpConnection b, TimeSpan idle, Activity activity,
        CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks));
        using var timer = new PeriodicTimer(period, activity.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (activity.Time.GetElapsedTime(Volatile.Read(ref activity.LastTimestamp)) < idle) continue;
                activity.TimedOut = true;
                a.Disconnect();
                b.Disconnect();
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class Activity(TimeProvider time)
    {
        public readonly TimeProvider Time = time;

        public long LastTimestamp = time.GetTimestamp();

        public volatile bool TimedOut;
    }

    private static async Task<(long Bytes, bool Failed)> PumpAsync(TcpConnection from, TcpConnection to, Task? firstRead,
        CancellationTokenSource linked, Activity activity)
    {
        Stream source = from.Stream, target = to.Stream;
        CancellationToken cancellationToken = linked.Token;
        byte[]? buffer = null;
        long total = 0;
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
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                total += Delivered(to, read, activity);
                if (read < buffer.Length)
                {
                    // Drained: hold no buffer while this direction is idle.
                    BufferPool.Bytes.Return(buffer);
                    buffer = null;
                    await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }
            }

            await to.ShutdownSendAsync(cancellationToken).ConfigureAwait(false);
            return (total, false);
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || error is IOException)
        {
            // One side failed: nothing more can be delivered in order, so end both.
            linked.Cancel();
            from.Disconnect();
            to.Disconnect();
            return (total, true);
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }
    }

    // Counts bytes handed to the output and marks the pair active for the idle watchdog.
    private static int Delivered(TcpConnection to, int bytes, Activity activity)
    {
        to.CountSent(bytes);
        Volatile.Write(ref activity.LastTimestamp, activity.Time.GetTimestamp());
        return bytes;
    }
}
