// haproxy in TCP mode with kernel splicing on, the speed reference for a plain proxy.
namespace Gray.TunnelBench.Setups;

internal sealed class HaproxySetup(string scratch, ulong descriptors) : TunnelSetup
{
    public const string Program = "/usr/sbin/haproxy";

    /// <summary>haproxy needs two descriptors per connection and two per splice pipe, plus a few.</summary>
    private const ulong MaxConnections = 60_000, MaxPipes = 200, ReservedDescriptors = 200;

    private ChildProcess? _haproxy;

    public override string Name => Report.Goals.Haproxy;

    public override Task<int> StartAsync(int targetPort) => RunAsync(targetPort, port => $"""
        frontend bench
            bind 127.0.0.1:{port}
            default_backend service
        backend service
            server target 127.0.0.1:{targetPort}
        """);

    // The same routing as Gray's shared ports: by the Host header (HTTP mode), or by the SNI name of a
    // ClientHello inspected and passed through (TCP mode).
    public override async Task<int?> StartByNameAsync(int targetPort, ByNameKind kind) =>
        await RunAsync(targetPort, port => kind == ByNameKind.Http
            ? $$"""
                frontend bench
                    mode http
                    bind 127.0.0.1:{{port}}
                    use_backend service if { req.hdr(host),field(1,:) -i {{NamedTargets.HttpHost}} }
                backend service
                    mode http
                    server target 127.0.0.1:{{targetPort}}
                """
            : $$"""
                frontend bench
                    bind 127.0.0.1:{{port}}
                    tcp-request inspect-delay 5s
                    tcp-request content accept if { req.ssl_hello_type 1 }
                    use_backend service if { req.ssl_sni -i {{NamedTargets.TlsHost}} }
                backend service
                    server target 127.0.0.1:{{targetPort}}
                """);

    private async Task<int> RunAsync(int targetPort, Func<int, string> frontend)
    {
        int port = Ports.Free();
        string config = Path.Combine(scratch, $"haproxy-{port}.cfg");
        // splice-auto: haproxy 2.6 splices only when asked. maxconn and maxpipes: within our descriptor limit.
        ulong maxConnections = Math.Min(MaxConnections, (descriptors - ReservedDescriptors - 2 * MaxPipes) / 2);
        await File.WriteAllTextAsync(config, $"""
            global
                maxconn {maxConnections}
                maxpipes {MaxPipes}
            defaults
                mode tcp
                option splice-auto
                timeout connect 5s
                timeout client 1h
                timeout server 1h

            """ + frontend(port) + "\n");
        _haproxy = ChildProcess.Start("haproxy", Program, ["-f", config, "-db"]);
        await Listening.WaitUntilAcceptingAsync(port, _haproxy);
        return port;
    }

    public override IReadOnlyList<int> RelayPids() => _haproxy is null ? [] : [_haproxy.Pid];

    public override void EnsureRunning() => _haproxy?.EnsureRunning();

    public override async ValueTask DisposeAsync()
    {
        if (_haproxy is not null) await _haproxy.DisposeAsync();
    }
}
