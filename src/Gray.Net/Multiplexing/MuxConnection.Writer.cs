// MuxConnection's writer: frames are queued under the lock, and whoever queues into an idle
// connection becomes the writer and writes the queue in large batches; the end of a drain
// half-closes after the last frame.
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public sealed partial class MuxConnection
{
    /// <summary>
    /// Queues a frame; the caller becomes the writer if none is writing. False if closed (buffer returned).
    /// </summary>
    internal bool Enqueue(MuxFrame frame)
    {
        bool write;
        lock (_gate)
        {
            if (_state is MuxState.Finished or MuxState.Closed)
            {
                if (frame.Buffer is not null) BufferPool.Bytes.Return(frame.Buffer);
                return false;
            }

            _queue.Enqueue(frame);
            _queuedBytes += frame.Length;
            write = !_writing;
            _writing = true;
        }

        if (write) _ = WriteQueuedAsync();
        return true;
    }

    /// <summary>The write queue has room now (a datagram sender drops rather than waits).</summary>
    internal bool HasRoom
    {
        get
        {
            lock (_gate) return _state != MuxState.Closed && _queuedBytes < Options.MaxQueuedBytes;
        }
    }

    /// <summary>Completes when the write queue has room (at once, usually).</summary>
    internal ValueTask WaitForRoomAsync()
    {
        lock (_gate)
        {
            if (_state == MuxState.Closed || _queuedBytes < Options.MaxQueuedBytes) return ValueTask.CompletedTask;
            _roomWaiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask(_roomWaiters.Task);
        }
    }

    // The end of a drain: the writer writes what is queued (the last channels' Fin frames too), then half-closes.
    private void Finish()
    {
        bool write;
        lock (_gate)
        {
            if (_state != MuxState.Draining) return;
            _state = MuxState.Finishing;
            write = !_writing;
            _writing = true;
        }

        if (write) _ = WriteQueuedAsync();
    }

    // Writes everything queued, in order, batching small frames; runs until the queue is empty.
    private async Task WriteQueuedAsync()
    {
        byte[] batch = BufferPool.Bytes.Rent(BatchBytes);
        Queue<MuxFrame>? frames = null;
        try
        {
            while (true)
            {
                bool finishNow = false;
                lock (_gate)
                {
                    if (_queue.Count == 0 && _state == MuxState.Finishing)
                    {
                        _state = MuxState.Finished; // the writer's role ends here: nothing is written after the FIN
                        finishNow = true;
                    }
                    else if (_queue.Count == 0 || _state == MuxState.Closed)
                    {
                        _writing = false;
                        ReturnBuffers(_queue); // empty unless closed
                        return;
                    }
                    else
                    {
                        frames = _queue;
                        _queue = _spare;
                        _spare = frames;
                    }
                }

                if (finishNow)
                {
                    if (_shutdownSend is null) Fail(null);
                    else await _shutdownSend().ConfigureAwait(false);
                    return;
                }

                int used = 0, payloadBytes = 0;
                while (frames!.TryDequeue(out var frame))
                {
                    // A data entry goes out as frames of at most MaxPayloadBytes; the others as one frame.
                    int offset = 0;
                    do
                    {
                        int chunk = frame.Type switch
                        {
                            MuxFrameType.Data or MuxFrameType.Open =>
                                Math.Min(frame.Length - offset, MuxOptions.MaxPayloadBytes),
                            MuxFrameType.Window => MuxFrame.WindowPayloadBytes,
                            _ => 0,
                        };
                        if (used + MuxFrame.HeaderBytes + chunk > batch.Length)
                        {
                            await _transport.WriteAsync(batch.AsMemory(0, used), _closing.Token).ConfigureAwait(false);
                            used = 0;
                        }

                        used += frame.Type == MuxFrameType.Window
                            ? MuxFrame.WriteWindow(batch.AsSpan(used), frame.Channel, frame.Value)
                            : MuxFrame.Write(batch.AsSpan(used), frame.Type, frame.Channel,
                                frame.Buffer.AsSpan(offset, chunk));
                        if (frame.Type != MuxFrameType.Window) offset += chunk;
                    }
                    while (offset < frame.Length && frame.Type != MuxFrameType.Window);

                    payloadBytes += frame.Length;
                    if (frame.Buffer is not null) BufferPool.Bytes.Return(frame.Buffer);
                }

                if (used > 0) await _transport.WriteAsync(batch.AsMemory(0, used), _closing.Token)
                    .ConfigureAwait(false);
                TaskCompletionSource? room = null;
                lock (_gate)
                {
                    _queuedBytes -= payloadBytes;
                    if (_roomWaiters is not null && _queuedBytes <= Options.MaxQueuedBytes / 2)
                    {
                        room = _roomWaiters;
                        _roomWaiters = null;
                    }
                }

                room?.TrySetResult();
            }
        }
        catch (Exception error)
        {
            if (frames is not null) ReturnBuffers(frames);
            Fail(error is OperationCanceledException || SocketErrors.IsConnectionEnd(error) ? null : error);
        }
        finally
        {
            BufferPool.Bytes.Return(batch);
        }
    }
}
