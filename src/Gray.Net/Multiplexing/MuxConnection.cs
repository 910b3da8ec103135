// Many channels (each one tunneled TCP connection) over one transport stream: a reader loop that
// dispatches frames, and one writer at a time that coalesces queued frames into few large writes.
// Each channel has a flow-control window, so a slow reader never makes another channel wait and no
// side buffers without bound. docs/protocol.md ("Multiplexed data connections") specifies the frames.
using System.Buffers.Binary;
using Gray.Net.Internal;

namespace Gray.Net.Multiplexing;

public sealed partial class MuxConnection
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
    private MuxState _state = MuxState.Open;

    // Whether a writer runs now: whoever finds it false becomes the writer (not part of the lifecycle).
    private bool _writing;
    private uint _lastId;

    // Channels that received bytes in the current read: woken once the whole read is dispatched, so
    // that a channel's consecutive frames are taken as one segment. Used by the reader loop only.
    private readonly List<MuxChannel> _toNotify = new();

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
        get { lock (_gate) return _state == MuxState.Open; }
    }

    /// <summary>Completes when the connection has closed and every channel was ended.</summary>
    public Task Completion => _ended.Task;

    /// <summary>Why the connection closed, if it failed.</summary>
    public Exception? Error { get; private set; }

    /// <summary>A new channel, announced with <paramref name="payload"/>; null if closed, draining or full.</summary>
    public MuxChannel? TryOpen(ReadOnlySpan<byte> payload)
    {
        if (!_opens) throw new InvalidOperationException("This side does not open channels.");
        if (payload.Length is 0 or > MuxOptions.MaxOpenPayloadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(payload));
        }
        MuxChannel channel;
        lock (_gate)
        {
            if (_state != MuxState.Open || _channels.Count >= Options.MaxChannels) return null;
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
            if (_state == MuxState.Open) _state = MuxState.Draining;
            finish = _state == MuxState.Draining && _channels.Count == 0;
        }

        if (finish) Finish();
    }

    /// <summary>Closes the connection and resets every channel. Idempotent.</summary>
    public void Close() => Fail(null);

    internal void Remove(MuxChannel channel)
    {
        bool finish;
        lock (_gate)
        {
            if (!_channels.Remove(channel.Id)) return;
            finish = _state == MuxState.Draining && _channels.Count == 0;
        }

        if (finish) Finish();
    }

    private void Fail(Exception? error)
    {
        List<MuxChannel> channels;
        TaskCompletionSource? room;
        lock (_gate)
        {
            if (_state == MuxState.Closed) return;
            _state = MuxState.Closed;
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

/// <summary>A multiplexed connection's life, in order; Closed can follow any other.</summary>
internal enum MuxState
{
    /// <summary>New channels are welcome.</summary>
    Open,

    /// <summary>No new channels; running ones go on.</summary>
    Draining,

    /// <summary>The last channel ended: the writer writes what is queued, then half-closes.</summary>
    Finishing,

    /// <summary>Half-closed: nothing more is written; the connection ends when the peer closes.</summary>
    Finished,

    /// <summary>Closed: every channel was reset.</summary>
    Closed,
}
