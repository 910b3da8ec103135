// Forwards bytes both ways between two connections with pooled buffers, zero-byte reads while
// idle, half-close forwarded as half-close, and both sides closed when either fails. On Linux, plain
// (non-TLS) pairs can forward with splice(2) through a pipe instead: zero-copy, as haproxy does.
using System.Net.Sockets;
using Gray.Net.Internal;

namespace Gray.Net;

/// <summary>How a splice ended, with the bytes carried each way.</summary>
public readonly record struct SpliceResult(long BytesAToB, long BytesBToA, bool Faulted);

public static class Splice
{
    /// <summary>Default buffer rented per direction while bytes flow, in bytes (as YARP's StreamCopier).</summary>
    public const int DefaultBufferBytes = 64 * 1024;

    private const int BytesPerKibibyte = 1024;

    /// <summary>Largest buffer GRAY_SPLICE_BUFFER_KIB may ask for, in KiB.</summary>
    private const int MaxBufferKibibytes = 4096;

    // Bytes moved by splice(2), and bytes of a full output taken out of the pipe into a buffer (for tests).
    private static long s_zeroCopyBytes;
    private static long s_pipeFallbackBytes;

    // Set when splice(2) refuses our descriptors (a sandbox without it): the process stops trying.
    private static volatile bool s_zeroCopyRefused;

    /// <summary>
    /// Buffer rented per direction while bytes flow on the buffered path (and for a full output on the
    /// zero-copy path), in bytes. GRAY_SPLICE_BUFFER_KIB sets it at start-up (read once).
    /// </summary>
    public static int BufferBytes
    {
        get;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            field = value;
        }
    } = ReadBufferSetting();

    /// <summary>
    /// Forward plain (non-TLS) pairs with splice(2) on Linux. GRAY_SPLICE=0 or 1 sets it at start-up
    /// (read once), so both paths can be compared in one benchmark. Elsewhere, for TLS, or without a
    /// pipe (EMFILE, or the pipe bound reached) the buffered path runs. Off by default: on a 2-CPU
    /// loopback bench (docs/benchmarks.md, "splice(2)") it cost the relay 5-30% less CPU per GiB but carried no
    /// measurably more, and each busy direction holds two more descriptors.
    /// </summary>
    public static bool ZeroCopy { get; set; } = Environment.GetEnvironmentVariable("GRAY_SPLICE")?.Trim() switch
    {
        "1" or "true" or "on" => true,
        _ => false,
    };

    internal static long ZeroCopyBytes => Interlocked.Read(ref s_zeroCopyBytes);

    internal static long PipeFallbackBytes => Interlocked.Read(ref s_pipeFallbackBytes);

    /// <summary>
    /// Copies a→b and b→a until both directions have ended. End of stream on one side becomes a
    /// half-close (FIN, after TLS close_notify) on the other; an error closes both. The caller must
    /// own both connections' streams (no Send and no other reader while this runs).
    /// <paramref name="firstReadOfB"/> is a read of b already pending (a zero-byte read), awaited
    /// before b's first real read.
    /// </summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b,
        Task? firstReadOfB = null, CancellationToken cancellationToken = default) =>
        await RunAsync(a, b, firstReadOfB, idleTimeout: null, cancellationToken).ConfigureAwait(false);

    /// <summary>As above; with <paramref name="idleTimeout"/>, a splice that carries no byte for that long is closed.</summary>
    public static Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b, Task? firstReadOfB,
        TimeSpan? idleTimeout, CancellationToken cancellationToken = default) =>
        RunAsync(a, b, firstReadOfB, idleTimeout, ZeroCopy, cancellationToken);

    /// <summary>As above, choosing the path for this pair (tests compare both).</summary>
    internal static async Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b, Task? firstReadOfB,
        TimeSpan? idleTimeout, bool zeroCopy, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, a.ConnectionClosed, b.ConnectionClosed);
        var activity = new Activity();
        zeroCopy = zeroCopy && LinuxSplice.IsPlatformSupported && !s_zeroCopyRefused;
        var aToB = PumpAsync(a, b, null, zeroCopy, linked, activity);
        var bToA = PumpAsync(b, a, firstReadOfB, zeroCopy, linked, activity);
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
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Environment.TickCount64 - activity.LastTick < idle.TotalMilliseconds) continue;
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

    private sealed class Activity
    {
        public long LastTick = Environment.TickCount64;

        public volatile bool TimedOut;
    }

    private static async Task<(long Bytes, bool Failed)> PumpAsync(TcpConnection from, TcpConnection to, Task? firstRead,
        bool zeroCopy, CancellationTokenSource linked, Activity activity)
    {
        Stream source = from.Stream, target = to.Stream;
        CancellationToken cancellationToken = linked.Token;
        byte[]? buffer = null;
        long total = 0;
        PipePool.Pipe pipe = default;
        bool holdsPipe = false;
        int inPipe = 0; // bytes in the pipe, not yet sent
        try
        {
            if (firstRead is not null) await firstRead.ConfigureAwait(false);
            else await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);

            // Only plain sockets: TLS bytes must pass through SslStream (and NetworkStream buffers nothing,
            // so the socket holds every byte not yet read). A blocking descriptor would block a thread.
            SafeSocketHandle? fromHandle = null, toHandle = null;
            if (zeroCopy && source is NetworkStream && target is NetworkStream)
            {
                fromHandle = from.Socket.SafeHandle;
                toHandle = to.Socket.SafeHandle;
                zeroCopy = LinuxSplice.IsNonBlocking(fromHandle) && LinuxSplice.IsNonBlocking(toHandle);
            }
            else
            {
                zeroCopy = false;
            }

            while (true)
            {
                if (zeroCopy && (holdsPipe || (holdsPipe = PipePool.Shared.TryRent(out pipe))))
                {
                    var step = LinuxSplice.Transfer(fromHandle!, toHandle!, pipe.ReadEnd, pipe.WriteEnd, pipe.Capacity,
                        ref inPipe, out int received, out int sent);
                    if (received > 0) from.CountReceived(received);
                    if (sent > 0)
                    {
                        Interlocked.Add(ref s_zeroCopyBytes, sent);
                        total += Delivered(to, sent, activity);
                    }

                    if (step == LinuxSplice.Step.EndOfStream) break;
                    switch (step)
                    {
                        case LinuxSplice.Step.Continue:
                            cancellationToken.ThrowIfCancellationRequested();
                            break;
                        case LinuxSplice.Step.Drained:
                            // Hold no pipe while this direction is idle.
                            PipePool.Shared.Return(pipe, empty: true);
                            holdsPipe = false;
                            await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                            break;
                        case LinuxSplice.Step.OutputFull:
                            // The peer's window is full and .NET cannot wait for "writable": move what the
                            // pipe holds into a buffer and let the socket's own send wait for room.
                            buffer ??= BufferPool.Bytes.Rent(BufferBytes);
                            while (inPipe > 0)
                            {
                                int moved = LinuxSplice.ReadPipe(pipe.ReadEnd, buffer.AsSpan(0, Math.Min(inPipe, buffer.Length)));
                                inPipe -= moved;
                                await target.WriteAsync(buffer.AsMemory(0, moved), cancellationToken).ConfigureAwait(false);
                                Interlocked.Add(ref s_pipeFallbackBytes, moved);
                                total += Delivered(to, moved, activity);
                            }

                            BufferPool.Bytes.Return(buffer);
                            buffer = null;
                            break;
                        case LinuxSplice.Step.Unsupported:
                            s_zeroCopyRefused = true;
                            zeroCopy = false;
                            PipePool.Shared.Return(pipe, empty: true);
                            holdsPipe = false;
                            break;
                    }

                    continue;
                }

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

            if (holdsPipe)
            {
                PipePool.Shared.Return(pipe, empty: inPipe == 0);
                holdsPipe = false;
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
            if (holdsPipe) PipePool.Shared.Return(pipe, empty: inPipe == 0);
        }
    }

    // Counts bytes handed to the output and marks the pair active for the idle watchdog.
    private static int Delivered(TcpConnection to, int bytes, Activity activity)
    {
        to.CountSent(bytes);
        Volatile.Write(ref activity.LastTick, Environment.TickCount64);
        return bytes;
    }

    private static int ReadBufferSetting()
    {
        string? text = Environment.GetEnvironmentVariable("GRAY_SPLICE_BUFFER_KIB");
        return int.TryParse(text, out int kibibytes) && kibibytes is > 0 and <= MaxBufferKibibytes
            ? kibibytes * BytesPerKibibyte
            : DefaultBufferBytes;
    }
}
