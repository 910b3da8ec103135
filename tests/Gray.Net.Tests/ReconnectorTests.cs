// The reconnect loop waits its backoff on the clock it is given: with a fake clock the next attempt
// comes only once the test has moved time past the delay.
using Microsoft.Extensions.Time.Testing;

namespace Gray.Net.Tests;

public class ReconnectorTests
{
    [Fact]
    public async Task A_failed_session_is_retried_after_its_backoff_on_the_given_clock()
    {
        var time = new FakeTimeProvider();
        var backoff =
            new BackoffOptions { Initial = TimeSpan.FromSeconds(1), Maximum = TimeSpan.FromSeconds(30), Jitter = 0 };
        var attempts = new System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset>();
        using var stop = new CancellationTokenSource();
        var loop = Reconnector.RunAsync((_, _) =>
        {
            attempts.Enqueue(time.GetUtcNow());
            return Task.FromException(new IOException("refused"));
        }, backoff, isFatal: null, logger: null, stop.Token, time);

        await Wait.UntilAsync(() => attempts.Count == 1, "the first attempt");
        var step = TimeSpan.FromMilliseconds(10);
        for (int i = 0; i < 10_000 && attempts.Count < 2; i++)
        {
            time.Advance(step);
            await Task.Yield();
        }

        stop.Cancel();
        await loop.WaitAsync(Loopback.Deadline);
        var at = attempts.ToArray();
        Assert.True(at.Length >= 2, "no second attempt");
        // Not before the 1 s backoff; and well before the doubled one would allow.
        Assert.InRange(at[1] - at[0], TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5));
    }
}
