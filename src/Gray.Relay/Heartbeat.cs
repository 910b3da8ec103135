// When the agent was last heard from and when the relay last pinged it: the ping interval and the
// silence after which the tunnel is given up (ping_timeout). Thread-safe.
namespace Gray.Relay;

internal sealed class Heartbeat(TimeProvider time)
{
    private long _lastHeard = time.GetTimestamp();
    private long _lastPingSent = time.GetTimestamp();

    /// <summary>Any frame from the agent proves it alive.</summary>
    public void Heard() => Volatile.Write(ref _lastHeard, time.GetTimestamp());

    /// <summary>How long the agent has said nothing.</summary>
    public TimeSpan Silence => time.GetElapsedTime(Volatile.Read(ref _lastHeard));

    /// <summary>
    /// True (and the ping counted as sent now) when <paramref name="interval"/> has passed since the last one.
    /// </summary>
    public bool PingDue(TimeSpan interval)
    {
        long last = Volatile.Read(ref _lastPingSent);
        if (time.GetElapsedTime(last) < interval) return false;
        return Interlocked.CompareExchange(ref _lastPingSent, time.GetTimestamp(), last) == last;
    }
}
