// A token bucket for bytes, kept as a debt: a sender takes what it is about to send and waits until the
// bucket is out of debt. It fills at its rate up to its burst while nobody sends. There is no timer: the
// level is worked out from the clock when bytes are taken, so an idle bucket costs nothing. One bucket may
// limit many pumps at once (all the pairs of a server); each then waits for its share.
namespace Gray.Net;

public sealed class TokenBucket
{
    /// <summary>The smallest burst, in bytes: a few segments, so that low rates still send whole chunks.</summary>
    public const int MinBurstBytes = 16 * 1024;

    /// <summary>The largest burst, in bytes.</summary>
    public const int MaxBurstBytes = 4 * 1024 * 1024;

    private readonly object _gate = new();
    private readonly TimeProvider _time;
    private long _bytesPerSecond;
    private long _burst;
    private double _level;
    private long _stamp;

    /// <param name="bytesPerSecond">The rate; 0 or less: unlimited.</param>
    /// <param name="time">The clock the bucket fills by.</param>
    public TokenBucket(long bytesPerSecond, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _stamp = _time.GetTimestamp();
        SetRate(bytesPerSecond);
    }

    public long BytesPerSecond => Volatile.Read(ref _bytesPerSecond);

    public bool IsUnlimited => BytesPerSecond <= 0;

    /// <summary>How much the bucket holds when full: a tenth of a second's bytes, within the bounds above.</summary>
    public long BurstBytes => Volatile.Read(ref _burst);

    /// <summary>Changes the rate at once, for the senders already waiting too (a reload).</summary>
    public void SetRate(long bytesPerSecond)
    {
        lock (_gate)
        {
            Refill();
            bool wasUnlimited = _bytesPerSecond <= 0;
            _burst = Math.Clamp(bytesPerSecond / 10, MinBurstBytes, MaxBurstBytes);
            _level = wasUnlimited ? _burst : Math.Min(_level, _burst); // a new limit starts full
            Volatile.Write(ref _bytesPerSecond, bytesPerSecond);
        }
    }

    /// <summary>Takes <paramref name="bytes"/>; returns how long to wait before sending them (zero: at once).</summary>
    public TimeSpan Take(int bytes)
    {
        if (IsUnlimited) return TimeSpan.Zero;
        lock (_gate)
        {
            Refill();
            _level -= bytes;
            return _level >= 0 || _bytesPerSecond <= 0 ? TimeSpan.Zero
                : TimeSpan.FromSeconds(-_level / _bytesPerSecond);
        }
    }

    /// <summary>Takes <paramref name="bytes"/> only if the bucket holds them (a datagram: sent whole, or
    /// dropped, never owed).</summary>
    public bool TryTake(int bytes)
    {
        if (IsUnlimited) return true;
        lock (_gate)
        {
            Refill();
            if (_level < bytes) return false;
            _level -= bytes;
            return true;
        }
    }

    private void Refill()
    {
        long now = _time.GetTimestamp();
        double seconds = _time.GetElapsedTime(_stamp, now).TotalSeconds;
        _stamp = now;
        if (_bytesPerSecond > 0) _level = Math.Min(_burst, _level + seconds * _bytesPerSecond);
    }
}

/// <summary>
/// The buckets one direction of a splice takes its bytes from: a shared one (the server's) and one of its
/// own (its client address's); either may be null.
/// </summary>
public sealed class DirectionLimit(TokenBucket? shared, TokenBucket? own)
{
    /// <summary>Largest chunk read at once, so that one read does not run far into debt.</summary>
    public int MaxChunkBytes(int room)
    {
        long burst = Math.Min(shared is { IsUnlimited: false } ? shared.BurstBytes : long.MaxValue,
            own is { IsUnlimited: false } ? own.BurstBytes : long.MaxValue);
        return (int)Math.Min(room, burst);
    }

    /// <summary>Takes <paramref name="bytes"/> from both buckets if both hold them (a datagram).</summary>
    public bool TryTake(int bytes) => (own?.TryTake(bytes) ?? true) && (shared?.TryTake(bytes) ?? true);

    /// <summary>Takes <paramref name="bytes"/> from both buckets and waits out the longer debt.</summary>
    public Task WaitAsync(int bytes, TimeProvider time, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.Zero;
        if (shared is not null) wait = shared.Take(bytes);
        if (own is not null && own.Take(bytes) is var ownWait && ownWait > wait) wait = ownWait;
        return wait <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(wait, time, cancellationToken);
    }
}

/// <summary>Rate limits for a splice's two directions (a → b, b → a); default: none.</summary>
public readonly record struct SpliceLimits(DirectionLimit? AToB, DirectionLimit? BToA);
