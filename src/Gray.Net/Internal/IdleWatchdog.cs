// The one idle timeout of both splices: an activity mark that the data path touches with each
// delivery (one timestamp write), and a timer that looks a few times per timeout and closes the
// splice when nothing moved for the whole timeout.
namespace Gray.Net.Internal;

internal sealed class IdleWatchdog(TimeProvider time)
{
    /// <summary>Shortest pause between two looks, however short the timeout.</summary>
    private static readonly TimeSpan MinimumPeriod = TimeSpan.FromMilliseconds(10);

    private long _lastActivity = time.GetTimestamp();

    public bool TimedOut { get; private set; }

    /// <summary>Bytes moved just now.</summary>
    public void Touch() => Volatile.Write(ref _lastActivity, time.GetTimestamp());

    /// <summary>
    /// Calls <paramref name="onIdle"/> once nothing touched the watchdog for <paramref name="idle"/>.
    /// </summary>
    public async Task WatchAsync(TimeSpan idle, Action onIdle, CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, MinimumPeriod.Ticks));
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (time.GetElapsedTime(Volatile.Read(ref _lastActivity)) < idle) continue;
                TimedOut = true;
                onIdle();
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
