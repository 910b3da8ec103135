// One channel of a multiplexed connection: its send credit, and its queue of received bytes (bounded
// by the window it grants), which the splice takes segment by segment (ReceiveAsync) and reports as
// consumed, so that credit goes back to the peer only for bytes the local side has taken. A channel
// whose local side keeps up gets its window doubled at each grant, up to MaxWindowBytes and within the
// budget of its relay or agent (decision 0015).
using System.Runtime.CompilerServices;
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
    private readonly AsyncAutoResetSignal _receivedChanged = new();
    private int _credit = MuxOptions.InitialWindowBytes;
    private int _window = MuxOptions.InitialWindowBytes; // what the peer may have sent and we have not consumed
    private int _growthReturned;
    private int _unconsumed;
    private int _consumedSinceGrant;
    private long _delivered;
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

    /// <summary>Bytes received and taken by the local side so far.</summary>
    public long BytesDelivered => Interlocked.Read(ref _delivered);

    /// <summary>What the peer may have in flight on this channel now (for tests).</summary>
    internal int ReceiveWindow
    {
        get { lock (_gate) return _window; }
    }

    /// <summary>Reset from the other side: by the peer's Reset frame, or because the connection ended.</summary>
    internal bool IsResetByPeer
    {
        get { lock (_gate) return _resetByPeer; }
    }

    /// <summary>Send credit: waits until the peer lets us send at least one byte. Throws once reset.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
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

    /// <summary>Takes <paramref name="bytes"/> of credit if all of it is there (a datagram goes whole or not
    /// at all); false once reset or finished.</summary>
    internal bool TryReserveCredit(int bytes)
    {
        lock (_gate)
        {
            if (_reset || _finSent || _credit < bytes) return false;
            _credit -= bytes;
            return true;
        }
    }

    /// <summary>Sends bytes whose credit <see cref="TryReserveCredit"/> took; false if the channel ended.</summary>
    internal bool SendReserved(byte[] buffer, int length)
    {
        lock (_gate)
        {
            if (_reset || _finSent)
            {
                BufferPool.Bytes.Return(buffer);
                return false;
            }
        }

        return _connection.Enqueue(new MuxFrame(MuxFrameType.Data, Id, buffer, length));
    }

    /// <summary>
    /// Doubles the receive window at once, from the budget, and grants the peer the difference: a datagram
    /// channel's largest datagram is about the initial window, so its sender needs room beyond one.
    /// </summary>
    internal void GrowWindowOnce()
    {
        int grant = 0;
        lock (_gate)
        {
            if (!_reset && _window == MuxOptions.InitialWindowBytes
                && _connection.Options.WindowBudget.TryTake(_window))
            {
                grant = _window;
                _window *= 2;
            }
        }

        if (grant > 0) _connection.Enqueue(new MuxFrame(MuxFrameType.Window, Id, null, 0, (uint)grant));
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

    /// <summary>Ends the channel on both sides at once: queued bytes dropped, a waiting receive woken.</summary>
    public void Abort() => Reset(tellPeer: true);

    internal void OnReset() => Reset(tellPeer: false);

    /// <summary>Queues the peer's bytes; true if a waiting receive then needs a <see cref="Notify"/>.</summary>
    internal bool OnData(ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (_reset) return false;
            if (_finReceived) throw new ProtocolException($"data after the end of channel {Id}");
            _unconsumed += payload.Length;
            if (_unconsumed > _window)
            {
                throw new ProtocolException($"channel {Id} exceeded its window of {_window} bytes");
            }

            _received.Append(payload);
            return true;
        }
    }

    /// <summary>The peer finished sending; true if a waiting receive then needs a <see cref="Notify"/>.</summary>
    internal bool OnFin()
    {
        lock (_gate)
        {
            if (_reset) return false;
            if (_finReceived) throw new ProtocolException($"second end of channel {Id}");
            _finReceived = true;
            return true;
        }
    }

    /// <summary>Wakes a waiting receive, once a read's frames are all queued (they join into few segments).</summary>
    internal void Notify() => _receivedChanged.Set();

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

    /// <summary>
    /// The next segment of received bytes (a pooled buffer the caller returns), or one with a null
    /// buffer at the peer's end of stream. Waits while nothing is queued; throws once the channel is
    /// reset. One caller at a time.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no allocation per wait on the data path
    internal async ValueTask<SegmentQueue.Segment> ReceiveAsync()
    {
        while (true)
        {
            lock (_gate)
            {
                if (_reset) throw new MuxChannelResetException();
                if (_received.TryDequeue(out var segment)) return segment;
                if (_finReceived)
                {
                    _finDelivered = true;
                    break;
                }
            }

            await _receivedChanged.WaitAsync().ConfigureAwait(false);
        }

        RemoveIfFinished();
        return default;
    }

    /// <summary>
    /// <paramref name="bytes"/> received were taken by the local side: credit goes back to the peer,
    /// and a channel whose local side keeps up (nothing waits in its queue) gets its window doubled.
    /// </summary>
    /// <remarks>With <paramref name="grantNow"/> (the end of a datagram), whatever was consumed goes back at
    /// once: the next datagram may need the whole window.</remarks>
    internal void Consumed(int bytes, bool grantNow = false)
    {
        Interlocked.Add(ref _delivered, bytes);
        int grant = 0;
        lock (_gate)
        {
            if (_reset) return;
            _unconsumed -= bytes;
            _consumedSinceGrant += bytes;
            bool half = _consumedSinceGrant >= _window / 2;
            if (half || (grantNow && _consumedSinceGrant > 0))
            {
                grant = _consumedSinceGrant;
                _consumedSinceGrant = 0;
                if (half && _received.Count == 0 && _window < MuxOptions.MaxWindowBytes
                    && _connection.Options.WindowBudget.TryTake(_window))
                {
                    grant += _window;
                    _window *= 2;
                }
            }
        }

        if (grant > 0) _connection.Enqueue(new MuxFrame(MuxFrameType.Window, Id, null, 0, (uint)grant));
    }

    private void Reset(bool tellPeer)
    {
        lock (_gate)
        {
            if (_reset) return;
            _reset = true;
            _resetByPeer = !tellPeer;
            tellPeer &= !(_finSent && _finDelivered);
            // A segment being written goes back to the pool with its writer; the queued ones go back here.
            _received.Clear();
        }

        ReturnWindowGrowth();
        if (tellPeer) _connection.Enqueue(new MuxFrame(MuxFrameType.Reset, Id, null, 0));
        _creditChanged.Set();
        _receivedChanged.Set();
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
