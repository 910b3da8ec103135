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

    /// <summary>Descriptors a relay needs besides its idle connections: pool, listeners, runtime, margin.</summary>
    private const int RelayOverhead = 1_000;

    /// <summary>The most idle connections a public side holding <paramref name="perConnection"/> descriptors for
    /// each fits in <paramref name="descriptors"/>.</summary>
    public static int IdleConnectionsWithin(ulong descriptors, int perConnection) =>
        (int)Math.Min(int.MaxValue, (descriptors - RelayOverhead) / (ulong)Math.Max(1, perConnection));

    [StructLayout(LayoutKind.Sequential)]
    private record struct Rlimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, ref Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, ref Rlimit limit);
}
