// The bytes of window growth that every channel sharing this budget may take beyond its initial
// window (decision 0015): what a relay or an agent may have to buffer for fast channels whose reader
// then stops. One budget per relay or agent, handed in through MuxOptions.
namespace Gray.Net.Multiplexing;

public sealed class MuxWindowBudget(long maxGrowthBytes = MuxWindowBudget.DefaultMaxGrowthBytes)
{
    /// <summary>Default growth over every channel sharing the budget, in bytes: 64 MiB.</summary>
    public const long DefaultMaxGrowthBytes = 64L * 1024 * 1024;

    private long _grownBytes;

    public long MaxGrowthBytes { get; } = maxGrowthBytes;

    /// <summary>Growth now taken by live channels, in bytes.</summary>
    public long GrownBytes => Interlocked.Read(ref _grownBytes);

    internal bool TryTake(int bytes)
    {
        if (Interlocked.Add(ref _grownBytes, bytes) <= MaxGrowthBytes) return true;
        Interlocked.Add(ref _grownBytes, -bytes);
        return false;
    }

    internal void Return(int bytes) => Interlocked.Add(ref _grownBytes, -bytes);
}
