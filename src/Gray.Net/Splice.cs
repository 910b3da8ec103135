// Forwards bytes both ways between two connections with pooled buffers, zero-byte reads while
// idle, half-close forwarded as half-close, and both sides closed when either fails.
using System.Buffers;
using Gray.Net.Internal;

namespace Gray.Net;

/// <summary>How a splice ended, with the bytes carried each way.</summary>
public readonly record struct SpliceResult(long BytesAToB, long BytesBToA, bool Faulted);

public static class Splice
{
    /// <summary>Buffer rented per direction while bytes flow, in bytes (as YARP's StreamCopier).</summary>
    public const int BufferBytes = 64 * 1024;

    /// <summary>
    /// Copies a→b and b→a until both directions have ended. End of stream on one side becomes a
    /// half-close (FIN, after TLS close_notify) on the other; an error closes both. The caller must
    /// own both connections' streams (no Send and no other reader while this runs).
    /// <paramref name="firstReadOfB"/> is a read of b already pending (a zero-byte read), awaited
    /// before b's first real read.
    /// </summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection a, TcpConnection b,
        Task? firstReadOfB = null, CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, a.ConnectionClosed, b.ConnectionClosed);
        var aToB = PumpAsync(a, b, null, linked);
        var bToA = PumpAsync(b, a, firstReadOfB, linked);
        var (forward, forwardFailed) = await aToB.ConfigureAwait(false);
        var (backward, backwardFailed) = await bToA.ConfigureAwait(false);
        return new SpliceResult(forward, backward, forwardFailed || backwardFailed);
    }

    private static async Task<(long Bytes, bool Failed)> PumpAsync(TcpConnection from, TcpConnection to, Task? firstRead,
        CancellationTokenSource linked)
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
                buffer ??= ArrayPool<byte>.Shared.Rent(BufferBytes);
                int read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                from.CountReceived(read);
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                to.CountSent(read);
                total += read;
                if (read < buffer.Length)
                {
                    // Drained: hold no buffer while this direction is idle.
                    ArrayPool<byte>.Shared.Return(buffer);
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
            if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
