// A small network of namespaces for cluster tests: one switch (a bridge in a namespace of its own) and
// hosts on it, each with one address of 10.233.0.0/24; commands run on a host by `ip netns exec`.
using Gray.Tests.Harness;
using Xunit.Abstractions;

namespace Gray.Tests.Adversarial;

internal sealed class ClusterNetwork(string prefix, ITestOutputHelper output) : IAsyncDisposable
{
    public const string Subnet = "10.233.0";

    private readonly List<string> _hosts = new();
    private readonly List<GrayProcess> _processes = new();
    private string Switch => $"{prefix}-sw";

    /// <summary>Makes the switch; hosts are added by <see cref="AddHostAsync"/>.</summary>
    public async Task StartAsync()
    {
        await DeleteAsync(); // leftovers of an earlier run
        await RunAsync("ip", "netns", "add", Switch);
        await RunAsync("ip", "-n", Switch, "link", "add", "br0", "type", "bridge");
        await RunAsync("ip", "-n", Switch, "link", "set", "br0", "up");
    }

    /// <summary>A host named <paramref name="name"/> at 10.233.0.<paramref name="last"/>; its /etc/hosts is
    /// <paramref name="hostsFile"/> if given (ip netns exec mounts /etc/netns/HOST/ over /etc).</summary>
    public async Task<string> AddHostAsync(string name, int last, string? hostsFile = null)
    {
        string host = $"{prefix}-{name}";
        string inside = $"{prefix}{last}", outside = $"{prefix}{last}b";
        if (hostsFile is not null)
        {
            string etc = Path.Combine("/etc/netns", host);
            Directory.CreateDirectory(etc);
            await File.WriteAllTextAsync(Path.Combine(etc, "hosts"), hostsFile);
            await File.WriteAllTextAsync(Path.Combine(etc, "host.conf"), "multi on\n");
        }

        await RunAsync("ip", "netns", "add", host);
        _hosts.Add(host);
        await RunAsync("ip", "link", "add", inside, "type", "veth", "peer", "name", outside);
        await RunAsync("ip", "link", "set", inside, "netns", host);
        await RunAsync("ip", "link", "set", outside, "netns", Switch);
        await RunAsync("ip", "-n", Switch, "link", "set", outside, "master", "br0", "up");
        await RunAsync("ip", "-n", host, "addr", "add", $"{Subnet}.{last}/24", "dev", inside);
        await RunAsync("ip", "-n", host, "link", "set", inside, "up");
        await RunAsync("ip", "-n", host, "link", "set", "lo", "up");
        return host;
    }

    /// <summary>Starts a command on a host; it is killed when the network goes.</summary>
    public GrayProcess Start(string host, params string[] command)
    {
        output.WriteLine($"[{host}] {string.Join(' ', command)}");
        var process = GrayProcess.StartProgram("ip", ["netns", "exec", host, .. command]);
        _processes.Add(process);
        return process;
    }

    /// <summary>Runs a command on a host to its end; its exit code and output.</summary>
    public async Task<(int ExitCode, string Output)> RunOnAsync(string host, TimeSpan timeout, params string[] command)
    {
        await using var process = GrayProcess.StartProgram("ip", ["netns", "exec", host, .. command]);
        int exit = await process.WaitForExitAsync(timeout);
        return (exit, process.Output);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            output.WriteLine(process.Output.Length > 20000 ? process.Output[^20000..] : process.Output);
            await process.DisposeAsync();
        }

        await DeleteAsync();
    }

    private async Task DeleteAsync()
    {
        string[] names = ["db", "r1", "r2", "r3", "ag", "cl"];
        string[] hosts = _hosts.Count > 0 ? [.. _hosts] : [.. names.Select(n => $"{prefix}-{n}")];
        foreach (string host in hosts.Append(Switch).Distinct())
        {
            await using var delete = GrayProcess.StartProgram("ip", ["netns", "delete", host]);
            await delete.WaitForExitAsync(TimeSpan.FromSeconds(30));
            string etc = Path.Combine("/etc/netns", host);
            if (Directory.Exists(etc)) Directory.Delete(etc, recursive: true);
        }
    }

    private static async Task RunAsync(params string[] command)
    {
        await using var process = GrayProcess.StartProgram(command[0], command[1..]);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        if (exit != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', command)} failed ({exit}): {process.Output}");
        }
    }
}
