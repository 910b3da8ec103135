// The library's buffer pool: size classes, and trims that drop only what no one took since the last trim.
using Gray.Net.Internal;

namespace Gray.Net.Tests;

public class TrimmingBytePoolTests
{
    private const int Kib64 = 64 * 1024;

    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(4096, 4096)]
    [InlineData(Kib64 + 1, 2 * Kib64)]
    public void A_rent_gets_the_next_power_of_two(int asked, int given)
    {
        var pool = new TrimmingBytePool(1024 * 1024, 8);
        Assert.Equal(given, pool.Rent(asked).Length);
        Assert.Empty(pool.Rent(0));
    }

    [Fact]
    public void A_returned_buffer_is_rented_again_and_larger_ones_are_not_kept()
    {
        var pool = new TrimmingBytePool(Kib64, 8);
        byte[] buffer = pool.Rent(Kib64);
        pool.Return(buffer);
        Assert.Same(buffer, pool.Rent(Kib64));
        byte[] large = pool.Rent(Kib64 + 1);
        Assert.Equal(Kib64 + 1, large.Length); // past the largest class: exact, unpooled
        pool.Return(large);
        Assert.Equal(0, pool.PooledBytes);
        Assert.Throws<ArgumentException>(() => pool.Return(new byte[1000]));
    }

    [Fact]
    public void A_class_keeps_at_most_its_capacity()
    {
        var pool = new TrimmingBytePool(Kib64, 2);
        var buffers = Enumerable.Range(0, 3).Select(_ => pool.Rent(Kib64)).ToList();
        buffers.ForEach(b => pool.Return(b));
        Assert.Equal(2L * Kib64, pool.PooledBytes);
    }

    [Fact]
    public void A_trim_drops_only_the_buffers_no_one_took_since_the_last_trim()
    {
        var pool = new TrimmingBytePool(Kib64, 16);
        var burst = Enumerable.Range(0, 10).Select(_ => pool.Rent(Kib64)).ToList();
        burst.ForEach(b => pool.Return(b));
        Assert.Equal(0, pool.Trim()); // the burst just ended: every buffer was in use since the last trim
        Assert.Equal(10L * Kib64, pool.PooledBytes);

        // Traffic goes on at a lower level: three buffers in use at once, taken and given back.
        var busy = Enumerable.Range(0, 3).Select(_ => pool.Rent(Kib64)).ToList();
        busy.ForEach(b => pool.Return(b));
        Assert.Equal(7L * Kib64, pool.Trim()); // seven were never taken
        Assert.Equal(3L * Kib64, pool.PooledBytes);
        byte[] taken = pool.Rent(Kib64);
        Assert.Same(busy[^1], taken); // the most recently used first
        pool.Return(taken);

        Assert.Equal(2L * Kib64, pool.Trim()); // one taken since: the two under it go
        Assert.Equal(Kib64, pool.PooledBytes);
        Assert.Equal(Kib64, pool.Trim()); // nothing taken since: the last one goes
        Assert.Equal(0, pool.PooledBytes);
    }
}
