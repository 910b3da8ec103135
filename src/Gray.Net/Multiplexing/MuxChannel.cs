// One channel of a multiplexed connection: its send credit, its queue of received bytes (bounded by
// the window it grants), and the delivery of those bytes to the local connection it is attached to.
// A channel whose local side keeps up gets its window doubled at each grant, up to MaxWindowBytes and
// within a process-wide budget, so that one fast stream is not limited by the initial window.
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

/// <summary>The channel was reset (by the peer, by an error, or because its connection closed).</summary>
public sealed class MuxChannelResetException() : IOException("The multiplexed channel was reset.");

public sealed class MuxChannel
{
    private readonly MuxConnection _connection;
    private readonly object _gate = new();
    private readonly SegmentQueue _received = new();
    private readonly AsyncAutoResetSignal _creditChanged = new();
    private readonly TaskCompletionSource _inboundEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TcpConnection? _local;
    private int _credit = MuxOptions.InitialWindowBytes;
    private int _window = MuxOptions.InitialWindowBytes; // what the peer may have sent and we have not delivered
    private int _growthReturned;
    private int _unconsumed;
    private int _consumedSinceGrant;
    private long _delivered;
    private bool _delivering;
    private bool _finReceived;
    private bool _finDelivered;
    private bool _finSent;
    private bool _reset;
    private bool _resetByPeer;

    internal MuxChannel(MuxConnection connection, uint id)
    {
        _connection = connection;
        Id = id;
    }

    public uint Id { get; }

    public MuxConnection Connection => _connection;

    /// <summary>Bytes delivered to the local connection so far.</summary>
    public long BytesDelivered => Interlocked.Read(ref _delivered);

    /// <summary>
    /// Completes when the peer's bytes and its end of stream were delivered, or the channel was reset.
    /// </summary>
    internal Task InboundEnded => _inboundEnded.Task;

    /// <summary>What the peer may have in flight on this channel now (for tests).</summary>
    internal int ReceiveWindow
    {
        get { lock (_gate) return _window; }
    }

    internal bool IsReset
    {
        get { lock (_gate) return _reset; }
    }

    /// <summary>Reset from the other side: by the peer's Reset frame, or because the connection ended.</summary>
    internal bool IsResetByPeer
    {
        get { lock (_gate) return _resetByPeer; }
    }

    /// <summary>Bytes received from now on (and those already queued) go to <paramref name="local"/>.</summary>
    internal void Attach(TcpConnection local)
    {
        bool deliver, reset;
        lock (_gate)
        {
            _local = local;
            reset = _reset;
            deliver = !reset && !_delivering && (_received.Count > 0 || (_finReceived && !_finDelivered));
            if (deliver) _delivering = true;
        }

        if (reset) local.Disconnect();
        else if (deliver) _ = DeliverAsync();
    }

    /// <summary>Send credit: waits until the peer lets us send at least one byte. Throws once reset.</summary>
    internal async ValueTask<int> WaitForCreditAsync()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_reset) throw new MuxChannelResetException();
                if (_credit > 0) return _credit;
            }

            await _creditChanged.WaitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends buffer[0..length) (a pooled buffer this call takes over) as one data frame.</summary>
    internal void SendData(byte[] buffer, int length)
    {
        lock (_gate)
        {
            if (_reset || _finSent)
            {
                BufferPool.Bytes.Return(buffer);
                throw new MuxChannelResetException();
            }

            _credit -= length;
        }

        _connection.Enqueue(new MuxFrame(MuxFrameType.Data, Id, buffer, length));
    }

    /// <summary>Half-close: the local side finished sending.</summary>
    internal void SendFin()
    {
        lock (_gate)
        {
            if (_reset || _finSent) return;
            _finSent = true;
        }

        _connection.Enqueue(new MuxFrame(MuxFrameType.Fin, Id, null, 0));
        RemoveIfFinished();
    }

    /// <summary>Ends the channel on both sides at once: queued bytes dropped, the local connection closed.</summary>
    public void Abort() => Reset(tellPeer: true);

    internal void OnReset() => Reset(tellPeer: false);

    /// <summary>Queues the peer's bytes; true if the channel then needs a <see cref="Deliver"/>.</summary>
    internal bool OnData(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_reset) return false;
            if (_finReceived) throw new ProtocolException($"data after the end of channel {Id}");
            _unconsumed += payload.Length;
            if (_unconsumed > _window) throw new ProtocolException($"channel {Id} exceeded its window of " +
                $"{_window} bytes");
            _received.Append(payload);
            return _local is not null && !_delivering;
        }
    }

    /// <summary>
    /// Starts writing queued bytes (and a received end of stream) to the local connection, unless running.
    /// </summary>
    internal void Deliver()
    {
        lock (_gate)
        {
            if (_local is null || _delivering || _reset) return;
            if (_received.Count == 0 && (!_finReceived || _finDelivered)) return;
            _delivering = true;
        }

        _ = DeliverAsync();
    }

    internal void OnWindow(uint grant)
    {
        lock (_gate)
        {
            if (grant == 0 || (long)_credit + grant > MuxOptions.MaxWindowBytes)
            {
                throw new ProtocolException($"channel {Id} granted {grant} bytes beyond its window");
            }

            _credit += (int)grant;
        }

        _creditChanged.Set();
    }

    /// <summary>The peer finished sending; true if the channel then needs a <see cref="Deliver"/>.</summary>
    internal bool OnFin()
    {
        lock (_gate)
        {
            if (_reset) return false;
            if (_finReceived) throw new ProtocolException($"second end of channel {Id}");
            _finReceived = true;
            return _local is not null && !_delivering;
        }
    }

    // Writes queued bytes to the local connection, then its half-close; grants credit back as it goes.
    // One runs at a time, started by whoever queued into an idle channel.
    private async Task DeliverAsync()
    {
        TcpConnection local = _local!;
        try
        {
            while (true)
            {
                SegmentQueue.Segment chunk;
                lock (_gate)
                {
                    if (_reset)
                    {
                        _delivering = false;
                        return;
                    }

                    if (!_received.TryDequeue(out chunk))
                    {
                        if (!_finReceived || _finDelivered)
                        {
                            _delivering = false;
                            return;
                        }

                        chunk = default;
                    }
                }

                if (chunk.Buffer is null)
                {
                    await local.ShutdownSendAsync().ConfigureAwait(false);
                    lock (_gate)
                    {
                        _finDelivered = true;
                        _delivering = false;
                    }

                    _inboundEnded.TrySetResult();
                    RemoveIfFinished();
                    return;
                }

                try
                {
                    await local.Stream.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length)).ConfigureAwait(false);
                }
                finally
                {
                    BufferPool.Bytes.Return(chunk.Buffer);
                }

                local.CountSent(chunk.Length);
                Interlocked.Add(ref _delivered, chunk.Length);
                int grant = 0;
                lock (_gate)
                {
                    _unconsumed -= chunk.Length;
                    _consumedSinceGrant += chunk.Length;
                    if (_consumedSinceGrant >= _window / 2)
                    {
                        grant = _consumedSinceGrant;
                        _consumedSinceGrant = 0;
                        // Nothing waits here, so the local side keeps up: the window may be what limits this channel.
                        if (_received.Count == 0 && _window < MuxOptions.MaxWindowBytes
                            && _connection.Options.WindowBudget.TryTake(_window))
                        {
                            grant += _window;
                            _window *= 2;
                        }
                    }
                }

                if (grant > 0) _connection.Enqueue(new MuxFrame(MuxFrameType.Window, Id, null, 0, (uint)grant));
            }
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || error is IOException)
        {
            lock (_gate)
            {
                _delivering = false;
            }

            Abort();
        }
    }

    private void Reset(bool tellPeer)
    {
        TcpConnection? local;
        lock (_gate)
        {
            if (_reset) return;
            _reset = true;
            _resetByPeer = !tellPeer;
            tellPeer &= !(_finSent && _finDelivered);
            local = _local;
            // A running delivery returns its own chunk; the rest go back here.
            _received.Clear();
        }

        ReturnWindowGrowth();
        if (tellPeer) _connection.Enqueue(new MuxFrame(MuxFrameType.Reset, Id, null, 0));
        _creditChanged.Set();
        _inboundEnded.TrySetResult();
        local?.Disconnect();
        _connection.Remove(this);
    }

    private void RemoveIfFinished()
    {
        lock (_gate)
        {
            if (!_finSent || !_finDelivered || _reset) return;
        }

        ReturnWindowGrowth();
        _connection.Remove(this);
    }

    // Once, when the channel ends: its growth goes back to the budget.
    private void ReturnWindowGrowth()
    {
        if (Interlocked.Exchange(ref _growthReturned, 1) != 0) return;
        int grown;
        lock (_gate)
        {
            grown = _window - MuxOptions.InitialWindowBytes;
        }

        if (grown > 0) _connection.Options.WindowBudget.Return(grown);
    }
}
