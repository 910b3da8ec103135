// An agent run in the test process (TunnelAgent, as `gray agent` runs it), pinned to an in-process
// relay's certificate, on the relay's clock.
using System.Net;
using Gray.Agent;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gray.Tests.Harness;

public sealed class InProcessAgent : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;

    private InProcessAgent(Task<int> running, CancellationTokenSource stop)
    {
        Running = running;
        _stop = stop;
    }

    /// <summary>Completes with the agent's exit code when it ends by itself.</summary>
    public Task<int> Running { get; }

    internal static InProcessAgent Start(InProcessRelay relay, AddedServer server, IPEndPoint target, int pool,
        bool mux, bool plainData, Uri? webSocket = null, Gray.Net.HttpConnectProxy? proxy = null,
        Gray.Protocol.ProxyProtocolVersion proxyProtocol = default, bool udp = false)
    {
        var options = new AgentOptions
        {
            Relay = webSocket is null ? new DnsEndPoint(IPAddress.Loopback.ToString(), relay.ControlPort)
                : new DnsEndPoint(webSocket.Host, webSocket.Port),
            RelayWebSocket = webSocket,
            Proxy = proxy,
            ProxyProtocol = proxyProtocol,
            TargetUdp = udp,
            TargetTcp = !udp,
            Id = server.Id,
            Secret = server.Secret,
            Target = new DnsEndPoint(target.Address.ToString(), target.Port),
            Pool = pool,
            Mux = mux,
            PlainData = plainData,
            Fingerprint = relay.Context.Fingerprint,
            KnownRelaysPath = Path.Combine(Directory.CreateTempSubdirectory("gray-agent-").FullName, "known_relays"),
        };
        var agent = new TunnelAgent(options, NullLoggerFactory.Instance, TextWriter.Null, time: relay.Clock);
        var stop = new CancellationTokenSource();
        var running = Task.Run(() => agent.RunAsync(stop.Token));
        return new InProcessAgent(running, stop);
    }

    private int _disposed;

    /// <summary>Stops the agent; a second call (the test's, then the relay's) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync();
        await Running.WaitAsync(Tcp.Deadline);
        _stop.Dispose();
    }
}
