// A relay with one healthy tunnel (agent + echo service), for attacks that must leave it working.
using System.Net;
using Gray.Relay;

namespace Gray.Tests.Harness;

public sealed class HealthyTunnel : IAsyncDisposable
{
    private HealthyTunnel(TestRelay relay, EchoService echo, AddedServer server, GrayProcess agent)
    {
        Relay = relay;
        Echo = echo;
        Server = server;
        Agent = agent;
    }

    public TestRelay Relay { get; }

    public EchoService Echo { get; }

    public AddedServer Server { get; }

    public GrayProcess Agent { get; }

    /// <summary>The relay gets <paramref name="settings"/>, the agent <paramref name="agentArgs"/> (e.g. --mux,
    /// --pool).</summary>
    public static async Task<HealthyTunnel> StartAsync(
        Dictionary<string, string>? settings = null, string[]? agentArgs = null)
    {
        var echo = new EchoService();
        echo.Start();
        var relay = new TestRelay(settings);
        await relay.StartAsync();
        var server = await relay.AddServerAsync("healthy");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint, agentArgs);
        var tunnel = new HealthyTunnel(relay, echo, server, agent);
        await tunnel.AssertHealthyAsync();
        return tunnel;
    }

    /// <summary>An echo through the healthy tunnel works (retried briefly while a new pair is set up).</summary>
    public Task AssertHealthyAsync() => AssertEchoesAsync(Server.ClientPort);

    /// <summary>An echo through the client port works, retried briefly while a new pair is set up.</summary>
    internal static Task AssertEchoesAsync(int clientPort) =>
        Wait.UntilAsync(() => AgentTests.TryEchoAsync(clientPort), "an echo through the healthy tunnel",
            TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        await Relay.DisposeAsync();
        await Echo.DisposeAsync();
    }
}

/// <summary>
/// The same, with the relay and agent in this process (for attacks that need no process of their own).
/// </summary>
public sealed class InProcessHealthyTunnel : IAsyncDisposable
{
    private InProcessHealthyTunnel(InProcessRelay relay, EchoService echo, AddedServer server, InProcessAgent agent)
    {
        Relay = relay;
        Echo = echo;
        Server = server;
        Agent = agent;
    }

    public InProcessRelay Relay { get; }

    public EchoService Echo { get; }

    public AddedServer Server { get; }

    public InProcessAgent Agent { get; }

    public static async Task<InProcessHealthyTunnel> StartAsync(Action<RelayOptions>? configure = null,
        int pool = 8, bool mux = false)
    {
        var echo = new EchoService();
        echo.Start();
        var relay = await InProcessRelay.StartAsync(configure, TimeProvider.System);
        var server = relay.AddServer("healthy");
        var agent = await relay.StartAgentAsync(server, echo.EndPoint, pool, mux);
        var tunnel = new InProcessHealthyTunnel(relay, echo, server, agent);
        await tunnel.AssertHealthyAsync();
        return tunnel;
    }

    /// <summary>An echo through the healthy tunnel works (retried briefly while a new pair is set up).</summary>
    public Task AssertHealthyAsync() => HealthyTunnel.AssertEchoesAsync(Server.ClientPort);

    public async ValueTask DisposeAsync()
    {
        await Relay.DisposeAsync();
        await Echo.DisposeAsync();
    }
}

/// <summary>What /proc says about a process: memory and descriptors.</summary>
public static class ProcessStats
{
    /// <summary>Resident set size now, in bytes.</summary>
    public static long Rss(int pid) => StatusKilobytes(pid, "VmRSS:") * 1024;

    /// <summary>Peak resident set size, in bytes.</summary>
    public static long PeakRss(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    public static int OpenDescriptors(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    private static long StatusKilobytes(int pid, string field)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
            }
        }

        throw new InvalidOperationException($"no {field} for process {pid}");
    }
}

/// <summary>Loopback source addresses other than 127.0.0.1, for per-address tests.</summary>
public static class Sources
{
    public static IPAddress Address(int index) => new([127, 0, (byte)(10 + index / 250), (byte)(1 + index % 250)]);
}
