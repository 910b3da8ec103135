// Reads a process's (or a process tree's) resident memory and CPU time from /proc.
namespace Gray.TunnelBench;

internal static class ProcessStats
{
    /// <summary>Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux).</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>Resident set size in bytes (VmRSS), or 0 if the process is gone.</summary>
    public static long RssBytes(int pid) => Status(pid, "VmRSS:");

    /// <summary>The anonymous part of the resident set in bytes (RssAnon: heaps, stacks, written data), which
    /// no other process shares; the rest is the program's and libraries' file pages.</summary>
    public static long AnonymousBytes(int pid) => Status(pid, "RssAnon:");

    private static long Status(int pid, string field)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim()) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>User plus system CPU time in seconds, or 0 if the process is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Field 2 (comm) may hold spaces; the fields after its closing parenthesis are fixed.
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / TicksPerSecond; // utime, stime (fields 14, 15)
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Resident bytes of several processes together.</summary>
    public static long RssBytes(IReadOnlyList<int> pids) => pids.Sum(RssBytes);

    /// <summary>Anonymous resident bytes of several processes together.</summary>
    public static long AnonymousBytes(IReadOnlyList<int> pids) => pids.Sum(AnonymousBytes);

    /// <summary>CPU seconds of several processes together.</summary>
    public static double CpuSeconds(IReadOnlyList<int> pids) => pids.Sum(CpuSeconds);

    /// <summary>The process and all its descendants, now.</summary>
    public static IReadOnlyList<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
                if (!children.TryGetValue(parent, out var list)) children[parent] = list = new List<int>();
                list.Add(pid);
            }
            catch (IOException)
            {
            }
        }

        var tree = new List<int> { root };
        for (int i = 0; i < tree.Count; i++)
        {
            if (children.TryGetValue(tree[i], out var list)) tree.AddRange(list);
        }

        return tree;
    }
}
