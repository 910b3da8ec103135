// Raises the soft limit on open files to the hard limit, as Go programs do: a relay at the default
// soft limit (often 1,024) would run out of descriptors before it reaches max_connections.
using System.Runtime.InteropServices;

namespace Gray.Hosting;

public static partial class DescriptorLimit
{
    private const int RlimitNoFile = 7; // RLIMIT_NOFILE on Linux

    /// <summary>The soft limit after raising it, or null where it cannot be read.</summary>
    public static ulong? Raise()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var limit = new Rlimit();
        if (GetRlimit(RlimitNoFile, ref limit) != 0) return null;
        if (limit.Current < limit.Maximum)
        {
            var raised = limit with { Current = limit.Maximum };
            if (SetRlimit(RlimitNoFile, ref raised) == 0) return raised.Current;
        }

        return limit.Current;
    }

    [StructLayout(LayoutKind.Sequential)]
    private record struct Rlimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, ref Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, ref Rlimit limit);
}
