// Many channels (each one tunneled TCP connection) over one transport stream: a reader loop that
// dispatches frames, and one writer at a time that coalesces queued frames into few large writes.
// Each channel has a flow-control window, so a slow reader never makes another channel wait and no
// side buffers without bound. docs/protocol.md ("Multiplexed data connections") specifies the frames.
using System.Buffers.Binary;
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public sealed class MuxConnection
{
    /// <summary>Read and write batch buffer, in bytes: several frames per system call.</summary>
    private const int BatchBytes = 128 * 1024;

    private readonly Stream _transport;
    private readonly Func<ValueTask>? _shutdownSend;
    private readonly bool _opens;
    private readonly Func<MuxChannel, ReadOnlyMemory<byte>, Task>? _accept;
    private readonly object _gate = new();
    private readonly Dictionary<uint, MuxChannel> _channels = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Queue<MuxFrame> _queue = new();
    private Queue<MuxFrame> _spare = new();
    private TaskCompletionSource? _roomWaiters;
    private int _queuedBytes;
    private bool _writing;
    private bool _closed;
    private bool _draining;
    private bool _finishing;
    private bool _finished;
    private uint _lastId;

    // Channels that received bytes in the current read: delivered once the whole read is dispatched,
    // so that a channel's consecutive frames become one local write. Used by the reader loop only.
    private readonly List<MuxChannel> _toDeliver = new();

    /// <summary>
    /// A multiplexer over <paramref name="transport"/>, which it reads and writes from now on. The side
    /// that <paramref name="opens"/> channels calls <see cref="TryOpen"/>; the other side gets each new
    /// channel through <paramref name="accept"/> (with the opener's payload), which must attach it.
    /// <paramref name="shutdownSend"/> half-closes the transport (FIN), for the end of a drain;
    /// without it a drained connection just closes.
    /// </summary>
    public MuxConnection(Stream transport, bool opens, MuxOptions? options = null,
        Func<MuxChannel, ReadOnlyMemory<byte>, Task>? accept = null, Func<ValueTask>? shutdownSend = null)
    {
        _transport = transport;
        _shutdownSend = shutdownSend;
        _opens = opens;
        _accept = accept;
        Options = options ?? new MuxOptions();
        if (!opens) ArgumentNullException.ThrowIfNull(accept);
    }

    public MuxOptions Options { get; }

    public int ChannelCount
    {
        get { lock (_gate) return _channels.Count; }
    }

    /// <summary>Open, and not draining: new channels are welcome.</summary>
    public bool IsAvailable
    {
        get { lock (_gate) return !_closed && !_draining; }
    }

    /// <summary>Completes when the connection has closed and every channel was ended.</summary>
    public Task Completion => _ended.Task;

    /// <summary>Why the connection closed, if it failed.</summary>
    public Exception? Error { get; private set; }

    /// <summary>A new channel, announced with <paramref name="payload"/>; null if closed, draining or full.</summary>
    public MuxChannel? TryOpen(ReadOnlySpan<byte> payload)
    {
        if (!_opens) throw new InvalidOperationException("This side does not open channels.");
        if (payload.Length is 0 or > MuxOptions.MaxOpenPayloadBytes) throw new ArgumentOutOfRangeException(nameof(payload));
        MuxChannel channel;
        lock (_gate)
        {
            if (_closed || _draining || _channels.Count >= Options.MaxChannels) return null;
            do
            {
                _lastId++;
            }
            while (_lastId == 0 || _channels.ContainsKey(_lastId));

            channel = new MuxChannel(this, _lastId);
            _channels.Add(channel.Id, channel);
        }

        var buffer = BufferPool.Bytes.Rent(payload.Length);
        payload.CopyTo(buffer);
        Enqueue(new MuxFrame(MuxFrameType.Open, channel.Id, buffer, payload.Length));
        return channel;
    }

    /// <summary>
    /// No new channels; once the running ones have ended and every queued frame is written, the
    /// transport is half-closed, and the connection ends when the peer closes its side too.
    /// </summary>
    public void Drain()
    {
        bool finish;
        lock (_gate)
        {
            _draining = true;
            finish = _channels.Count == 0;
        }

        if (finish) Finish();
    }

    /// <summary>Closes the connection and resets every channel. Idempotent.</summary>
    public void Close() => Fail(null);

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
                foreach (var channel in _toDeliver) channel.Deliver();
                _toDeliver.Clear();
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
                if (channel.OnData(payload)) _toDeliver.Add(channel);
                break;
            case MuxFrameType.Window:
                channel.OnWindow(BinaryPrimitives.ReadUInt32BigEndian(payload));
                break;
            case MuxFrameType.Fin:
                if (channel.OnFin()) _toDeliver.Add(channel);
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
            if (!_closed && !_draining && _channels.Count < Options.MaxChannels)
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

    /// <summary>Queues a frame; the caller becomes the writer if none is writing. False if closed (buffer returned).</summary>
    internal bool Enqueue(MuxFrame frame)
    {
        bool write;
        lock (_gate)
        {
            if (_closed || _finished)
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

    /// <summary>Completes when the write queue has room (at once, usually).</summary>
    internal ValueTask WaitForRoomAsync()
    {
        lock (_gate)
        {
            if (_closed || _queuedBytes < Options.MaxQueuedBytes) return ValueTask.CompletedTask;
            _roomWaiters ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask(_roomWaiters.Task);
        }
    }

    internal void Remove(MuxChannel channel)
    {
        bool finish;
        lock (_gate)
        {
            if (!_channels.Remove(channel.Id)) return;
            finish = _draining && _channels.Count == 0;
        }

        if (finish) Finish();
    }

    // The end of a drain: the writer writes what is queued (the last channels' Fin frames too), then half-closes.
    private void Finish()
    {
        bool write;
        lock (_gate)
        {
            if (_closed || _finishing) return;
            _finishing = true;
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
                    if (_queue.Count == 0 && _finishing && !_closed)
                    {
                        _finished = true; // the writer's role ends here: nothing is written after the FIN
                        finishNow = true;
                    }
                    else if (_queue.Count == 0 || _closed)
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
                            MuxFrameType.Data or MuxFrameType.Open => Math.Min(frame.Length - offset, MuxOptions.MaxPayloadBytes),
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
                            : MuxFrame.Write(batch.AsSpan(used), frame.Type, frame.Channel, frame.Buffer.AsSpan(offset, chunk));
                        if (frame.Type != MuxFrameType.Window) offset += chunk;
                    }
                    while (offset < frame.Length && frame.Type != MuxFrameType.Window);

                    payloadBytes += frame.Length;
                    if (frame.Buffer is not null) BufferPool.Bytes.Return(frame.Buffer);
                }

                if (used > 0) await _transport.WriteAsync(batch.AsMemory(0, used), _closing.Token).ConfigureAwait(false);
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

    private void Fail(Exception? error)
    {
        List<MuxChannel> channels;
        TaskCompletionSource? room;
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            Error = error;
            channels = [.. _channels.Values];
            _channels.Clear();
            if (!_writing) ReturnBuffers(_queue);
            room = _roomWaiters;
            _roomWaiters = null;
        }

        room?.TrySetResult();
        _closing.Cancel();
        foreach (var channel in channels) channel.OnReset();
        _ended.TrySetResult();
    }

    private static void ReturnBuffers(Queue<MuxFrame> frames)
    {
        while (frames.TryDequeue(out var frame))
        {
            if (frame.Buffer is not null) BufferPool.Bytes.Return(frame.Buffer);
        }
    }
}
