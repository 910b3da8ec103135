// Raises this process's open-file limit (hard and soft; allowed for root) so that it, and the
// tunnels it starts, can hold the idle workload's tens of thousands of sockets.
using System.Runtime.InteropServices;

namespace Gray.TunnelBench;

internal static partial class DescriptorLimit
{
    private const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux

    /// <summary>Descriptors wanted: 10,000 idle connections are ~2 sockets in each of four processes, with
    /// room.</summary>
    public const ulong Wanted = 131_072;

    /// <summary>The soft limit now in force.</summary>
    public static ulong Raise()
    {
        var limit = new Rlimit();
        if (GetRlimit(RlimitNoFile, ref limit) != 0) return 0;
        var wanted = new Rlimit(Math.Max(limit.Current, Wanted), Math.Max(limit.Maximum, Wanted));
        if (SetRlimit(RlimitNoFile, ref wanted) == 0) return wanted.Current;
        // Not root: the soft limit may still rise to the hard one.
        var soft = limit with { Current = limit.Maximum };
        return SetRlimit(RlimitNoFile, ref soft) == 0 ? soft.Current : limit.Current;
    }

    /// <summary>Descriptors a relay needs besides two per idle connection: pool, listeners, runtime, margin.</summary>
    private const int RelayOverhead = 1_000;

    /// <summary>Idle level steps when the top level must come down.</summary>
    private const int LevelStep = 1_000;

    /// <summary>The options with idle levels that fit the limit, or null when they already fit.</summary>
    public static BenchOptions? FitIdleLevels(BenchOptions options, ulong descriptors)
    {
        int fits = (int)Math.Min(int.MaxValue, (descriptors - RelayOverhead) / 2 / LevelStep * LevelStep);
        if (options.IdleLevels[^1] <= fits || !options.Workloads.Contains("idle")) return null;
        int[] levels = options.IdleLevels.Where(l => l < fits).Append(fits).ToArray();
        return options with { IdleLevels = levels };
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct Rlimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, ref Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, ref Rlimit limit);
}
