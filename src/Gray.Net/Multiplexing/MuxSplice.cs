// Forwards bytes both ways between a local connection and a multiplexed channel: the local side's
// reads become data frames (within the channel's credit), the channel's bytes are written to it;
// end of stream is forwarded as half-close, and an error on either side resets the channel.
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public static class MuxSplice
{
    /// <summary>
    /// Runs until both directions have ended. The caller must own <paramref name="local"/>'s stream (no
    /// Send and no other reader). With <paramref name="idleTimeout"/>, a channel that carries no byte
    /// for that long is reset. Side A is <paramref name="local"/>, side B the channel (SpliceResult).
    /// </summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection local, MuxChannel channel, TimeSpan? idleTimeout,
        CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, local.ConnectionClosed);
        using var abort = linked.Token.Register(static state => ((MuxChannel)state!).Abort(), channel);
        long deliveredBefore = channel.BytesDelivered;
        channel.Attach(local);
        var watchdog = new IdleWatchdog(local.Time);
        // Deliveries to the local side happen in the channel, not here: its count shows them.
        var watching = idleTimeout is { } idle
            ? watchdog.WatchAsync(idle, () => { channel.Abort(); local.Disconnect(); }, () => channel.BytesDelivered,
                linked.Token)
            : Task.CompletedTask;
        var (sent, end) = await PumpAsync(local, channel, watchdog, linked.Token).ConfigureAwait(false);
        await channel.InboundEnded.ConfigureAwait(false);
        bool resetByPeer = channel.IsResetByPeer, resetHere = channel.IsReset && !resetByPeer;
        await linked.CancelAsync().ConfigureAwait(false);
        await watching.ConfigureAwait(false);
        end = watchdog.TimedOut ? SpliceEnd.IdleTimeout
            : resetByPeer ? SpliceEnd.BFailed
            : end == SpliceEnd.Completed && resetHere ? SpliceEnd.Canceled
            : end;
        return new SpliceResult(sent, channel.BytesDelivered - deliveredBefore, end);
    }

    // Local reads → data frames, each at most the credit the peer granted; end of stream → Fin.
    private static async Task<(long Bytes, SpliceEnd End)> PumpAsync(TcpConnection local, MuxChannel channel,
        IdleWatchdog watchdog, CancellationToken cancellationToken)
    {
        Stream source = local.Stream;
        long total = 0;
        byte[]? buffer = null;
        try
        {
            await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                int credit = await channel.WaitForCreditAsync().ConfigureAwait(false);
                await channel.Connection.WaitForRoomAsync().ConfigureAwait(false);
                int wanted = Math.Min(credit, MuxOptions.ChunkBytes);
                buffer = BufferPool.Bytes.Rent(MuxOptions.ChunkBytes);
                int read = await source.ReadAsync(buffer.AsMemory(0, wanted), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    BufferPool.Bytes.Return(buffer);
                    buffer = null;
                    channel.SendFin();
                    return (total, SpliceEnd.Completed);
                }

                local.CountReceived(read);
                var handed = buffer;
                buffer = null;
                channel.SendData(handed, read);
                total += read;
                watchdog.Touch();
                if (read < wanted)
                {
                    // Drained: wait for more without holding a buffer.
                    await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || error is IOException)
        {
            bool canceled = cancellationToken.IsCancellationRequested;
            channel.Abort();
            local.Disconnect();
            return (total, canceled ? SpliceEnd.Canceled
                : error is MuxChannelResetException ? SpliceEnd.BFailed
                : SpliceEnd.AFailed);
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }
    }
}
