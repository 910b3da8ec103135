// A real `gray relay` process on loopback with its own data directory, control port and port range,
// plus helpers to register servers and start real `gray agent` processes against it.
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Gray.Tests.Harness;

public sealed record AddedServer(string Id, int ClientPort, int DataPort, string Secret);

public sealed class TestRelay : IAsyncDisposable
{
    /// <summary>Ports per relay: the control port and then its range. Below the ephemeral range.</summary>
    private const int PortsPerRelay = 20;

    private readonly List<GrayProcess> _agents = new();
    private readonly Dictionary<string, string> _settings;
    private readonly int? _descriptorLimit;

    public TestRelay(Dictionary<string, string>? settings = null, string? dataDir = null, int? controlPort = null,
        int? descriptorLimit = null)
    {
        _descriptorLimit = descriptorLimit;
        int basePort = Ports.FreeBlock(PortsPerRelay);
        ControlPort = controlPort ?? basePort;
        PortLow = basePort + 1;
        PortHigh = basePort + PortsPerRelay - 1;
        DataDir = dataDir ?? Directory.CreateTempSubdirectory("gray-relay-").FullName;
        KnownRelays = Path.Combine(Directory.CreateTempSubdirectory("gray-agent-").FullName, "known_relays");
        _settings = settings ?? new Dictionary<string, string>();
    }

    public string DataDir { get; }

    public int ControlPort { get; }

    public int PortLow { get; }

    public int PortHigh { get; }

    public string KnownRelays { get; }

    public GrayProcess? Process { get; private set; }

    /// <summary>More arguments for `gray relay`, and its environment.</summary>
    public string[] ExtraArgs { get; init; } = [];

    public Dictionary<string, string>? Environment { get; init; }

    /// <summary>The gray that relay, admin commands and agents run (default: this build's gray.dll).</summary>
    public GrayCommand Command { get; init; } = GrayCommand.BuildOutput;

    /// <summary>Started under nohup(1), SIGHUP ignored by inheritance.</summary>
    public bool UnderNohup { get; init; }

    public string Fingerprint { get; private set; } = "";

    /// <summary>The relay's YAML file, written from the settings at start; tests may rewrite it.</summary>
    public string ConfigPath => Path.GetFullPath(Path.Combine(DataDir, "..", Path.GetFileName(DataDir) + ".yaml"));

    public async Task StartAsync()
    {
        string config = ConfigPath;
        await File.WriteAllLinesAsync(config, _settings.Select(kv => $"{kv.Key}: {kv.Value}"));
        string[] args = ["relay", "--config", config, "--data-dir", DataDir,
            "--control", $"127.0.0.1:{ControlPort}", "--ports", $"{PortLow}-{PortHigh}", "--no-console", .. ExtraArgs];
        Process = _descriptorLimit is { } limit ? GrayProcess.StartWithDescriptorLimit(limit, args)
            : UnderNohup ? GrayProcess.StartUnderNohup(args)
            : GrayProcess.Start(args, Environment, command: Command);
        string line = await Process.WaitForLineAsync(
            l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay started");
        Fingerprint = line[(line.LastIndexOf(' ') + 1)..];
    }

    /// <summary>The control plane's URL and admin token, as the relay wrote them.</summary>
    public Gray.Relay.ControlPlane.AdminEndpointFile Admin => JsonSerializer.Deserialize(
        File.ReadAllText(Path.Combine(DataDir, Gray.Relay.ControlPlane.AdminEndpointFile.FileName)),
        Gray.Relay.ControlPlane.ApiJson.Default.AdminEndpointFile)!;

    /// <summary>`gray admin ARGS --data-dir DIR`, as a real process.</summary>
    public Task<(int ExitCode, string Output)> AdminAsync(params string[] args) =>
        GrayProcess.RunAsync(["admin", .. args, "--data-dir", DataDir], command: Command);

    public async Task<AddedServer> AddServerAsync(string id, params string[] extra)
    {
        var (exitCode, output) = await AdminAsync(["add", id, "--json", .. extra]);
        Assert.True(exitCode == 0, output);
        var json = JsonDocument.Parse(output.Trim()).RootElement;
        // None (left out) for a server reached by name only.
        return new AddedServer(json.GetProperty("id").GetString()!,
            json.TryGetProperty("clientPort", out var clientPort) ? clientPort.GetInt32() : 0,
            json.GetProperty("dataPort").GetInt32(), json.GetProperty("secret").GetString()!);
    }

    /// <summary>Starts `gray agent` for <paramref name="server"/>; waits until it is serving unless told not
    /// to.</summary>
    public async Task<GrayProcess> StartAgentAsync(AddedServer server, IPEndPoint target, string[]? extra = null,
        bool waitUntilServing = true, string? relayAddress = null, Dictionary<string, string>? environment = null)
    {
        var agent = GrayProcess.Start(
            ["agent", "--relay", relayAddress ?? $"127.0.0.1:{ControlPort}", "--id", server.Id,
            "--target", target.ToString(), .. extra ?? []],
            new Dictionary<string, string>
            {
                ["GRAY_SECRET"] = server.Secret, // not --secret, which ps shows
                ["GRAY_KNOWN_RELAYS"] = KnownRelays,
            }.Concat(environment ?? []).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Last().Value),
            command: Command);
        lock (_agents) _agents.Add(agent);
        if (waitUntilServing) await agent.WaitForLineAsync(l => l.Contains("is public on relay"), "agent serving");
        return agent;
    }

    public async Task StopAsync()
    {
        if (Process is null) return;
        Process.Signal(GrayProcess.SigTerm);
        Assert.Equal(0, await Process.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        await Process.DisposeAsync();
        Process = null;
    }

    public async ValueTask DisposeAsync()
    {
        List<GrayProcess> agents;
        lock (_agents) agents = [.. _agents];
        foreach (var agent in agents) await agent.DisposeAsync();
        if (Process is not null) await Process.DisposeAsync();
    }

    /// <summary>True if nothing listens on the port (a bind succeeds).</summary>
    public static bool IsFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
