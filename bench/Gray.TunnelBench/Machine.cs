// What the report says about where it ran: CPU, cores, kernel, OS, .NET, and the peers' versions.
using System.Runtime.InteropServices;
using Gray.TunnelBench.Setups;
using Gray.TunnelBench.Workloads;

namespace Gray.TunnelBench;

internal static class Machine
{
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(10);

    public static Task<string> DescribeAsync()
    {
        string cpu = File.ReadLines("/proc/cpuinfo")
            .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } line
            ? line[(line.IndexOf(':') + 1)..].Trim()
            : "unknown CPU";
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        string debian = File.Exists("/etc/debian_version")
            ? $"Debian {File.ReadAllText("/etc/debian_version").Trim()}, " : "";
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024L * 1024 * 1024);
        return Task.FromResult($"{cpu}, {Environment.ProcessorCount} cores, {memory} GiB; {debian}Linux {kernel}; " +
            $"{RuntimeInformation.FrameworkDescription}");
    }

    public static async Task<string> PeersAsync()
    {
        var versions = new List<string>();
        foreach (var (program, flag) in new[] { (HaproxySetup.Program, "-v"), (SshSetup.Client, "-V"),
            (Bulk.Program, "-v") })
        {
            if (!File.Exists(program)) continue;
            var (_, output) = await ChildProcess.RunAsync(program, [flag], VersionTimeout);
            versions.Add(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? program);
        }

        return versions.Count > 0 ? string.Join("; ", versions) : "none";
    }
}
