// The two kinds of side a splice joins: a connection (read into pooled buffers after a zero-byte
// wait, written through its stream) and a multiplexed channel (read as the segments it queued, written
// as data frames within the credit its peer granted). The splice's pump is written once against these.
using System.Runtime.CompilerServices;
using Gray.Net.Multiplexing;

namespace Gray.Net.Internal;

internal abstract class SpliceSide
{
    /// <summary>Waits until this side may take bytes; returns how many the next write may carry.</summary>
    public abstract ValueTask<int> WaitForRoomAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="max"/> bytes in a pooled buffer the caller then owns; a null buffer at end of stream.
    /// </summary>
    public abstract ValueTask<(byte[]? Buffer, int Length)> ReadAsync(int max, CancellationToken cancellationToken);

    /// <summary>Writes buffer[0..length) and takes the pooled buffer over.</summary>
    public abstract ValueTask WriteAsync(byte[] buffer, int length, CancellationToken cancellationToken);

    /// <summary>Bytes read from this side reached the other side (flow control).</summary>
    public virtual void Consumed(int bytes)
    {
    }

    public abstract ValueTask ShutdownSendAsync(CancellationToken cancellationToken);

    /// <summary>Ends this side at once (both directions).</summary>
    public abstract void Abort();

    /// <summary>The splice was cancelled: wake whatever this side waits for.</summary>
    public virtual void OnCanceled()
    {
    }

    /// <summary>True if the other end of the tunnel ended this side (a channel reset by its peer).</summary>
    public virtual bool EndedByPeer => false;
}

internal sealed class ConnectionSide(TcpConnection connection, Task? firstRead) : SpliceSide
{
    private Task? _firstRead = firstRead;

    // Drained: the last read did not fill its buffer, so the next waits with a zero-byte read and
    // holds no buffer while the connection is quiet (decision 0020).
    private bool _drained = true;

    public override ValueTask<int> WaitForRoomAsync(CancellationToken cancellationToken) =>
        new(Splice.BufferBytes);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per read
    public override async ValueTask<(byte[]? Buffer, int Length)> ReadAsync(int max,
        CancellationToken cancellationToken)
    {
        Stream stream = connection.Stream;
        if (_firstRead is { } pending)
        {
            _firstRead = null;
            await pending.ConfigureAwait(false);
        }
        else if (_drained)
        {
            await stream.ReadAsync(Memory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }

        byte[] buffer = BufferPool.Bytes.Rent(max);
        try
        {
            int read = await stream.ReadAsync(buffer.AsMemory(0, max), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                BufferPool.Bytes.Return(buffer);
                return (null, 0);
            }

            connection.CountReceived(read);
            _drained = read < max;
            return (buffer, read);
        }
        catch
        {
            BufferPool.Bytes.Return(buffer);
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(byte[] buffer, int length, CancellationToken cancellationToken)
    {
        try
        {
            await connection.Stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            connection.CountSent(length);
        }
        finally
        {
            BufferPool.Bytes.Return(buffer);
        }
    }

    public override ValueTask ShutdownSendAsync(CancellationToken cancellationToken) =>
        connection.ShutdownSendAsync(cancellationToken);

    public override void Abort() => connection.Disconnect();
}

internal sealed class ChannelSide(MuxChannel channel) : SpliceSide
{
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> WaitForRoomAsync(CancellationToken cancellationToken)
    {
        int credit = await channel.WaitForCreditAsync().ConfigureAwait(false);
        await channel.Connection.WaitForRoomAsync().ConfigureAwait(false);
        return Math.Min(credit, MuxOptions.ChunkBytes);
    }

    // A channel hands over whole segments: they never exceed a connection side's room (ChunkBytes).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per read
    public override async ValueTask<(byte[]? Buffer, int Length)> ReadAsync(int max,
        CancellationToken cancellationToken)
    {
        var segment = await channel.ReceiveAsync().ConfigureAwait(false);
        return (segment.Buffer, segment.Length);
    }

    public override ValueTask WriteAsync(byte[] buffer, int length, CancellationToken cancellationToken)
    {
        channel.SendData(buffer, length);
        return ValueTask.CompletedTask;
    }

    public override void Consumed(int bytes) => channel.Consumed(bytes);

    public override ValueTask ShutdownSendAsync(CancellationToken cancellationToken)
    {
        channel.SendFin();
        return ValueTask.CompletedTask;
    }

    public override void Abort() => channel.Abort();

    public override void OnCanceled() => channel.Abort();

    public override bool EndedByPeer => channel.IsResetByPeer;
}
