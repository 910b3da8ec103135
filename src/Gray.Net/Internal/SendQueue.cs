// The bounded outgoing byte queue of one connection: producers copy in, one send loop drains it.
// It double-buffers (pending + in-flight batch) so that many small sends become one write, and
// it never holds more than Limit pending bytes, so a slow reader cannot make memory grow.

namespace Gray.Net.Internal;

internal enum EnqueueResult
{
    Queued,
    Full,
    Closed,
}

internal sealed class SendQueue
{
    /// <summary>Smallest pending buffer rented from the pool, in bytes.</summary>
    private const int MinimumBufferBytes = 4096;


    private readonly object _gate = new();
    private readonly AsyncAutoResetSignal _dataAvailable = new();
    private byte[]? _pending;
    private int _pendingCount;
    private bool _draining; // the send loop holds a batch or has been woken for one
    private bool _closed;
    private TaskCompletionSource? _progress; // completed whenever space frees or the queue closes

    public SendQueue(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
    }

    public int Limit { get; }

    public int PendingBytes => Volatile.Read(ref _pendingCount);

    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>Copies the whole of <paramref name="data"/> in, or nothing.</summary>
    public EnqueueResult TryEnqueue(ReadOnlySpan<byte> data)
    {
        bool wake;
        lock (_gate)
        {
            if (_closed) return EnqueueResult.Closed;
            if (data.Length > Limit - _pendingCount) return EnqueueResult.Full;
            if (data.IsEmpty) return EnqueueResult.Queued;
            wake = AppendLocked(data);
        }

        if (wake) _dataAvailable.Set();
        return EnqueueResult.Queued;
    }

    /// <summary>
    /// Copies <paramref name="data"/> in, waiting for space. A message that fits the limit goes in
    /// whole; a larger one goes in chunks. Returns false if the queue closed first.
    /// </summary>
    public async ValueTask<bool> EnqueueAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        int offset = 0;
        while (offset < data.Length)
        {
            Task? waitForSpace = null;
            bool wake = false;
            lock (_gate)
            {
                if (_closed) return false;
                int free = Limit - _pendingCount;
                int remaining = data.Length - offset;
                int chunk = remaining <= Limit ? (remaining <= free ? remaining : 0) : free;
                if (chunk > 0)
                {
                    wake = AppendLocked(data.Span.Slice(offset, chunk));
                    offset += chunk;
                }
                else
                {
                    waitForSpace = ProgressLocked();
                }
            }

            if (wake) _dataAvailable.Set();
            if (waitForSpace is not null) await waitForSpace.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return !IsClosed;
    }

    /// <summary>Waits until every queued byte has been written. False if the queue closed first.</summary>
    public async ValueTask<bool> FlushAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task progress;
            lock (_gate)
            {
                if (_closed) return false;
                if (_pendingCount == 0 && !_draining) return true;
                progress = ProgressLocked();
            }

            await progress.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>For the send loop: waits until there may be something to take.</summary>
    public ValueTask WaitForDataAsync() => _dataAvailable.WaitAsync();

    /// <summary>
    /// For the send loop: swaps the pending bytes into <paramref name="batch"/> (whose old array becomes
    /// the next pending buffer) and returns their count; 0 when there is nothing left, after which the
    /// loop must wait again. On 0 the pending buffer goes back to the pool: an idle queue holds none.
    /// </summary>
    public int TakeBatch(ref byte[]? batch)
    {
        TaskCompletionSource? progress;
        int count;
        lock (_gate)
        {
            count = _pendingCount;
            if (count == 0)
            {
                _draining = false;
                if (_pending is not null)
                {
                    BufferPool.Bytes.Return(_pending);
                    _pending = null;
                }
            }
            else
            {
                (batch, _pending) = (_pending, batch);
                _pendingCount = 0;
            }

            progress = _progress;
            _progress = null;
        }

        progress?.TrySetResult();
        return count;
    }

    /// <summary>Drops whatever is pending and refuses further data. Idempotent.</summary>
    public void Close()
    {
        TaskCompletionSource? progress;
        lock (_gate)
        {
            if (_closed) return;
            _closed = true;
            _pendingCount = 0;
            if (_pending is not null)
            {
                BufferPool.Bytes.Return(_pending);
                _pending = null;
            }

            progress = _progress;
            _progress = null;
        }

        progress?.TrySetResult();
        _dataAvailable.Set();
    }

    private bool AppendLocked(ReadOnlySpan<byte> data)
    {
        int needed = _pendingCount + data.Length;
        if (_pending is null || _pending.Length < needed)
        {
            int size = Math.Max(needed, Math.Max(MinimumBufferBytes, (_pending?.Length ?? 0) * 2));
            byte[] grown = BufferPool.Bytes.Rent(Math.Min(size, Math.Max(needed, Limit)));
            if (_pending is not null)
            {
                _pending.AsSpan(0, _pendingCount).CopyTo(grown);
                BufferPool.Bytes.Return(_pending);
            }

            _pending = grown;
        }

        data.CopyTo(_pending.AsSpan(_pendingCount));
        _pendingCount = needed;
        if (_draining) return false;
        _draining = true;
        return true;
    }

    private Task ProgressLocked() =>
        (_progress ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
}
