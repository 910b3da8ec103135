using Microsoft.Extensions.Time.Testing;

namespace Gray.Net.Tests;

/// <summary>The token bucket on a clock the test moves: its burst, its debt, its refill and rate changes.</summary>
public class TokenBucketTests
{
    private const long Rate = 1024 * 1024; // bytes per second

    [Fact]
    public void A_full_bucket_lets_its_burst_go_at_once_then_each_sender_waits_out_the_debt()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(Rate, time);
        Assert.Equal(Rate / 10, bucket.BurstBytes);
        Assert.Equal(TimeSpan.Zero, bucket.Take((int)bucket.BurstBytes));
        AssertNear(TimeSpan.FromMilliseconds(50), bucket.Take((int)(Rate / 20)));
        // A second sender queues behind the first: the debt is shared.
        AssertNear(TimeSpan.FromMilliseconds(100), bucket.Take((int)(Rate / 20)));

        time.Advance(TimeSpan.FromSeconds(10)); // the debt paid, and the bucket full again, but no fuller
        Assert.Equal(TimeSpan.Zero, bucket.Take((int)bucket.BurstBytes));
        AssertNear(TimeSpan.FromMilliseconds(1000), bucket.Take((int)Rate));
    }

    [Fact]
    public void A_changed_rate_applies_at_once_and_zero_is_unlimited()
    {
        var time = new FakeTimeProvider();
        var bucket = new TokenBucket(0, time);
        Assert.True(bucket.IsUnlimited);
        Assert.Equal(TimeSpan.Zero, bucket.Take(int.MaxValue));

        bucket.SetRate(Rate);
        Assert.Equal(TimeSpan.Zero, bucket.Take((int)bucket.BurstBytes));
        AssertNear(TimeSpan.FromSeconds(2), bucket.Take(2 * (int)Rate));
        bucket.SetRate(2 * Rate); // the next sender waits at the new rate for the debt left
        AssertNear(TimeSpan.FromSeconds(1.5), bucket.Take((int)Rate));
    }

    [Fact]
    public async Task A_direction_waits_for_the_slower_of_its_two_buckets()
    {
        var time = new FakeTimeProvider();
        var shared = new TokenBucket(Rate, time);
        var own = new TokenBucket(Rate / 4, time);
        var limit = new DirectionLimit(shared, own);
        Assert.Equal((int)own.BurstBytes, limit.MaxChunkBytes(64 * 1024));
        await limit.WaitAsync((int)own.BurstBytes, time, CancellationToken.None); // within both bursts
        var waiting = limit.WaitAsync((int)(Rate / 4), time, CancellationToken.None); // 1 s of the slower one
        time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(150));
        await waiting.WaitAsync(Loopback.Deadline);
    }

    private static void AssertNear(TimeSpan expected, TimeSpan actual) =>
        Assert.InRange(actual.TotalMilliseconds, expected.TotalMilliseconds - 1, expected.TotalMilliseconds + 1);
}
