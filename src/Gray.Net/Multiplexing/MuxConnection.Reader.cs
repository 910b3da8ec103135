// MuxConnection's reader: one loop reads batches from the transport and dispatches every frame in
// them; a channel's consecutive frames are delivered as one local write.
using System.Buffers.Binary;
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public sealed partial class MuxConnection
{
    /// <summary>Reads and dispatches frames until the transport ends or fails; then every channel is reset.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        byte[]? buffer = null;
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                if (buffer is null)
                {
                    // Idle: hold no buffer until bytes arrive.
                    await _transport.ReadAsync(Memory<byte>.Empty, linked.Token).ConfigureAwait(false);
                    buffer = BufferPool.Bytes.Rent(BatchBytes);
                }

                int read = await _transport.ReadAsync(buffer.AsMemory(end), linked.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    if (end > start) throw new ProtocolException("the connection ended inside a frame");
                    break;
                }

                end += read;
                start = DispatchFrames(buffer, start, end);
                foreach (var channel in _toNotify) channel.Notify();
                _toNotify.Clear();
                if (start == end)
                {
                    BufferPool.Bytes.Return(buffer);
                    buffer = null;
                    start = end = 0;
                }
                else if (buffer.Length - end < MuxFrame.HeaderBytes + MuxOptions.MaxPayloadBytes)
                {
                    // Move the partial frame to the front so that the largest frame fits.
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
            }

            Fail(null);
        }
        catch (Exception error)
        {
            Fail(error is OperationCanceledException || SocketErrors.IsConnectionEnd(error) ? null : error);
            if (error is ProtocolException) throw;
        }
        finally
        {
            if (buffer is not null) BufferPool.Bytes.Return(buffer);
        }
    }

    // Handles every complete frame in buffer[start..end); returns where the first incomplete one starts.
    private int DispatchFrames(byte[] buffer, int start, int end)
    {
        while (end - start >= MuxFrame.HeaderBytes)
        {
            var header = buffer.AsSpan(start, MuxFrame.HeaderBytes);
            var type = (MuxFrameType)header[0];
            int length = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
            uint id = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
            int limit = type switch
            {
                MuxFrameType.Open => MuxOptions.MaxOpenPayloadBytes,
                MuxFrameType.Data => MuxOptions.MaxPayloadBytes,
                MuxFrameType.Window => MuxFrame.WindowPayloadBytes,
                MuxFrameType.Fin or MuxFrameType.Reset => 0,
                _ => throw new ProtocolException($"unknown frame type 0x{(byte)type:x2}"),
            };
            if (header[1] != 0) throw new ProtocolException("reserved header byte is not zero");
            if (length > limit || (length == 0 && type is MuxFrameType.Open or MuxFrameType.Data)
                || (type == MuxFrameType.Window && length != limit))
            {
                throw new ProtocolException($"{type} frame with {length} payload bytes");
            }

            if (end - start < MuxFrame.HeaderBytes + length) break;
            Dispatch(type, id, buffer.AsSpan(start + MuxFrame.HeaderBytes, length));
            start += MuxFrame.HeaderBytes + length;
        }

        return start;
    }

    private void Dispatch(MuxFrameType type, uint id, ReadOnlySpan<byte> payload)
    {
        if (type == MuxFrameType.Open)
        {
            Accept(id, payload);
            return;
        }

        MuxChannel? channel;
        lock (_gate)
        {
            _channels.TryGetValue(id, out channel);
        }

        // Frames for a channel that was just reset may still be in flight: they are dropped.
        if (channel is null) return;
        switch (type)
        {
            case MuxFrameType.Data:
                if (channel.OnData(payload)) _toNotify.Add(channel);
                break;
            case MuxFrameType.Window:
                channel.OnWindow(BinaryPrimitives.ReadUInt32BigEndian(payload));
                break;
            case MuxFrameType.Fin:
                if (channel.OnFin()) _toNotify.Add(channel);
                break;
            case MuxFrameType.Reset:
                channel.OnReset();
                break;
        }
    }

    private void Accept(uint id, ReadOnlySpan<byte> payload)
    {
        if (_opens) throw new ProtocolException("the peer may not open channels");
        if (id == 0) throw new ProtocolException("channel 0 is reserved");
        MuxChannel? channel = null;
        lock (_gate)
        {
            if (_channels.ContainsKey(id)) throw new ProtocolException($"channel {id} is already open");
            if (_state == MuxState.Open && _channels.Count < Options.MaxChannels)
            {
                channel = new MuxChannel(this, id);
                _channels.Add(id, channel);
            }
        }

        if (channel is null)
        {
            Enqueue(new MuxFrame(MuxFrameType.Reset, id, null, 0));
            return;
        }

        var copy = payload.ToArray();
        Task accepted;
        try
        {
            accepted = _accept!(channel, copy);
        }
        catch (Exception error)
        {
            accepted = Task.FromException(error);
        }

        if (!accepted.IsCompletedSuccessfully)
        {
            accepted.ContinueWith(static (task, state) =>
            {
                _ = task.Exception; // observed: the channel's reset is the answer
                if (task.IsFaulted || task.IsCanceled) ((MuxChannel)state!).Abort();
            }, channel, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
