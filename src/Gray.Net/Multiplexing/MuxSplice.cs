// Forwards bytes both ways between a local connection and a multiplexed channel: the local side's
// reads become data frames (within the channel's credit), the channel's bytes are written to it;
// end of stream is forwarded as half-close, and an error on either side resets the channel.
using System.Runtime.CompilerServices;
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public static class MuxSplice
{
    /// <summary>
    /// Runs until both directions have ended. The caller must own <paramref name="local"/>'s stream (no
    /// Send and no other reader). With <paramref name="idleTimeout"/>, a channel that carries no byte
    /// for that long is reset. Bytes are counted on <paramref name="local"/> as on a plain splice.
    /// </summary>
    public static async Task<SpliceResult> RunAsync(TcpConnection local, MuxChannel channel, TimeSpan? idleTimeout,
        CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, local.ConnectionClosed);
        using var abort = linked.Token.Register(static state => ((MuxChannel)state!).Abort(), channel);
        long deliveredBefore = channel.BytesDelivered;
        channel.Attach(local);
        var lastActivity = new StrongBox<long>(local.Time.GetTimestamp());
        var watchdog = idleTimeout is { } idle ? WatchIdleAsync(channel, local, idle, lastActivity, linked.Token) : Task.CompletedTask;
        var (sent, failed) = await PumpAsync(local, channel, lastActivity, linked.Token).ConfigureAwait(false);
        await channel.InboundEnded.ConfigureAwait(false);
        failed |= channel.IsReset;
        await linked.CancelAsync().ConfigureAwait(false);
        await watchdog.ConfigureAwait(false);
        return new SpliceResult(sent, channel.BytesDelivered - deliveredBefore, failed);
    }

    // Local reads → data frames, each at most the credit the peer granted; end of stream → Fin.
    private static async Task<(long Bytes, bool Failed)> PumpAsync(TcpConnection local, MuxChannel channel,
        StrongBox<long> lastActivity, CancellationToken cancellationToken)
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
                    return (total, false);
                }

                local.CountReceived(read);
                var handed = buffer;
                buffer = null;
                channel.SendData(handed, read);
                total += read;
                Volatile.Write(ref lastActivity.Value, local.Time.GetTimestamp());
                if (read < wanted)
                {
                    // Drained: wait for more without holding a buffer.
                    await source.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || error is IOException)
        {
            channel.Abort();
            local.Disconnect();
            return (total, true);
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }
    }

    private static async Task WatchIdleAsync(MuxChannel channel, TcpConnection local, TimeSpan idle, StrongBox<long> lastActivity,
        CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks));
        using var timer = new PeriodicTimer(period, local.Time);
        long deliveredSeen = channel.BytesDelivered;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long delivered = channel.BytesDelivered;
                if (delivered != deliveredSeen)
                {
                    deliveredSeen = delivered;
                    Volatile.Write(ref lastActivity.Value, local.Time.GetTimestamp());
                    continue;
                }

                if (local.Time.GetElapsedTime(Volatile.Read(ref lastActivity.Value)) < idle) continue;
                channel.Abort();
                local.Disconnect();
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
