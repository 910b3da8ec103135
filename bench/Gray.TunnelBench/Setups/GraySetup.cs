// Gray itself: a real `gray relay` and `gray agent` (published, or this build's gray.dll), with TLS or plain data
// connections, pooled, multiplexed or as the agent's defaults choose, on the control port or by WebSocket over
// HTTPS, limits raised for the idle workload, and the agent's pool full before measuring.
using System.Text.Json;

namespace Gray.TunnelBench.Setups;

/// <param name="mux">Multiplexed or pooled data connections; null: the agent's default, and its default pool.</param>
/// <param name="pool">The agent's pool; null: its default.</param>
internal sealed class GraySetup(
    GrayBinary gray, string scratch, bool plainData, bool? mux, int? pool, Lever? lever = null,
    bool webSocket = false)
    : TunnelSetup
{
    private const string ServerId = "bench";

    /// <summary>Ports the relay gets: the control port and its client/data range.</summary>
    private const int RelayPorts = 10;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60), AdminTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PoolPollPause = TimeSpan.FromMilliseconds(200);

    private ChildProcess? _relay, _agent;
    private string _dataDir = "";

    /// <summary>Whether the running agent multiplexes, as the relay reports it.</summary>
    private bool _multiplexed;

    public override string Name => (plainData, mux, webSocket) switch
    {
        (_, true, true) => Report.Goals.WssMux,
        (_, _, true) => Report.Goals.Wss,
        (true, null, _) => Report.Goals.PlainDefaults,
        (false, null, _) => Report.Goals.TlsDefaults,
        (true, true, _) => Report.Goals.PlainMux,
        (true, false, _) => Report.Goals.Plain,
        (false, true, _) => Report.Goals.TlsMux,
        (false, false, _) => Report.Goals.Tls,
    } + (lever is null ? "" : $" [{lever.Name}]");

    /// <summary>The relay and agent return memory 15 s after start, once quiet (decision 0040).</summary>
    public override TimeSpan SettleAfterStart => TimeSpan.FromSeconds(20);

    /// <summary>A multiplexing relay holds one descriptor per tunneled connection, a pooled one two.</summary>
    public override int DescriptorsPerIdleConnection => _multiplexed ? 1 : 2;

    public override Task<int> StartAsync(int targetPort) => StartAsync(targetPort, udp: false);

    public override async Task<int?> StartUdpAsync(int targetPort) => plainData
        ? null // UDP flows ride multiplexed TLS data connections; plain data has no UDP
        : await StartAsync(targetPort, udp: true);

    public override async Task<int?> StartByNameAsync(int targetPort, ByNameKind kind) =>
        await StartAsync(targetPort, udp: false, kind);

    public override async Task<bool> LimitBandwidthAsync(long bytesPerSecond)
    {
        await AdminAsync("bandwidth", ServerId, "--in", bytesPerSecond.ToString());
        return true;
    }

    // With byName, the server is reached by name on the relay's shared port of that kind; that port is returned.
    private async Task<int> StartAsync(int targetPort, bool udp, ByNameKind? byName = null)
    {
        string dir = Directory.CreateDirectory(Path.Combine(scratch, $"gray-{Guid.NewGuid():N}")).FullName;
        int sharedPort = Ports.Free();
        _dataDir = Path.Combine(dir, "data");
        string config = Path.Combine(dir, "relay.yaml");
        // Limits above the idle workload's 10,000 tunneled connections (two relay connections each).
        await File.WriteAllTextAsync(config, """
            max_connections: 60000
            max_client_connections_per_ip: 30000
            max_clients_per_server: 30000
            max_pending_per_ip: 512
            allow_plain_data: true

            """ + (webSocket ? "http:\n  tls: true\n" : "") + byName switch
            {
                ByNameKind.Http => $"http_port: {sharedPort}\n",
                ByNameKind.Tls => $"https_port: {sharedPort}\n",
                _ => "",
            });
        int basePort = Ports.FreeBlock(RelayPorts);
        _relay = ChildProcess.Start("relay", gray.Program, gray.Arguments(
        [
            "relay", "--config", config, "--data-dir", _dataDir, "--control", $"127.0.0.1:{basePort}",
            "--ports", $"{basePort + 1}-{basePort + RelayPorts - 1}", "--no-console",
            "--http", "127.0.0.1:0", // on, as shipped, on a port of its own: setups may overlap
        ]), lever?.Environment.ToDictionary());
        string line = await _relay.WaitForLineAsync(
            l => l.StartsWith("gray relay: control", StringComparison.Ordinal), "relay started", StartTimeout);
        string fingerprint = line[(line.LastIndexOf(' ') + 1)..];

        string[] add = ["add", ServerId, "--json", .. udp ? new[] { "--udp" } : [], .. byName switch
        {
            ByNameKind.Http => new[] { "--host", NamedTargets.HttpHost },
            ByNameKind.Tls => ["--host", NamedTargets.TlsHost],
            _ => [],
        }];
        var added = JsonDocument.Parse(await AdminAsync(add)).RootElement;
        int clientPort = byName is null ? added.GetProperty("clientPort").GetInt32() : sharedPort;
        string secret = added.GetProperty("secret").GetString()!;

        // By WebSocket: to the web port the relay chose, as its admin.json says.
        string relayAddress = webSocket
            ? JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_dataDir, "admin.json"))).RootElement
                .GetProperty("url").GetString()!.Replace("https://", "wss://", StringComparison.Ordinal) + "/gray"
            : $"127.0.0.1:{basePort}";
        string[] agentArgs = gray.Arguments(
        [
            "agent", "--relay", relayAddress, "--id", ServerId,
            "--target", udp ? $"udp://127.0.0.1:{targetPort}" : $"127.0.0.1:{targetPort}",
            "--fingerprint", fingerprint,
            .. pool is { } size && mux is not null ? new[] { "--pool", size.ToString() } : [],
            .. plainData ? new[] { "--plain-data" } : [],
            .. mux switch { true => new[] { "--mux", "true" }, false => ["--mux", "false"], null => [] },
        ]);
        var agentEnvironment = lever?.Environment.ToDictionary() ?? new Dictionary<string, string>();
        agentEnvironment["GRAY_SECRET"] = secret;
        agentEnvironment["GRAY_KNOWN_RELAYS"] = Path.Combine(dir, "known_relays");
        _agent = ChildProcess.Start("agent", gray.Program, agentArgs, agentEnvironment);
        await WaitForFullPoolAsync(udp ? 1 : null); // a UDP target multiplexes: one connection serves
        return clientPort;
    }

    /// <summary>Waits until the relay holds the agent's whole pool (as after a quiet moment in production).</summary>
    public async Task WaitForFullPoolAsync(int? connections = null)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        int ready = 0, full = 0;
        while (DateTime.UtcNow < deadline)
        {
            EnsureRunning();
            var servers = JsonDocument.Parse(await AdminAsync("show", "--json")).RootElement.GetProperty("servers");
            if (servers.GetArrayLength() > 0 && servers[0].TryGetProperty("agent", out var agent)) // absent: offline
            {
                ready = agent.GetProperty("poolReady").GetInt32();
                full = connections ?? agent.GetProperty("poolTarget").GetInt32();
                _multiplexed = agent.GetProperty("mux").GetBoolean();
                if (ready >= full && full > 0) return;
            }

            await Task.Delay(PoolPollPause);
        }

        throw new BenchException($"the agent's pool reached {ready} of {full} within {StartTimeout.TotalSeconds:0} " +
            $"s:\n{_relay?.Output}\n{_agent?.Output}");
    }

    private async Task<string> AdminAsync(params string[] args)
    {
        var (exit, output) = await ChildProcess.RunAsync(
            gray.Program, gray.Arguments(["admin", .. args, "--data-dir", _dataDir]), AdminTimeout);
        if (exit != 0) throw new BenchException($"gray admin {string.Join(' ', args)} failed ({exit}): {output}");
        return output.Trim();
    }

    public override IReadOnlyList<int> RelayPids() => _relay is null ? [] : [_relay.Pid];

    public override IReadOnlyList<int> AgentPids() => _agent is null ? [] : [_agent.Pid];

    public override void EnsureRunning()
    {
        _relay?.EnsureRunning();
        _agent?.EnsureRunning();
    }

    public override async ValueTask DisposeAsync()
    {
        if (_agent is not null) await _agent.DisposeAsync();
        if (_relay is not null) await _relay.DisposeAsync();
    }
}
