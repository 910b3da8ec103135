// A relay hosted in the test process on the Generic Host, as `gray relay` hosts it, with a clock the
// test drives (FakeTimeProvider): deadlines, expiry and timeouts pass only when the test says so.
using System.Net;
using Gray.Hosting;
using Gray.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Tests.Harness;

public sealed class InProcessRelay : IAsyncDisposable
{
    private readonly IHost _host;

    private readonly List<InProcessAgent> _agents = [];

    private InProcessRelay(IHost host, TimeProvider clock, RelayOptions options, RelayContext context,
        IPEndPoint control, IPEndPoint? tlsEntry, IPEndPoint? httpEntry)
    {
        _host = host;
        Clock = clock;
        Options = options;
        Context = context;
        ControlPort = control.Port;
        TlsEntryPort = tlsEntry?.Port ?? 0;
        HttpEntryPort = httpEntry?.Port ?? 0;
    }

    /// <summary>The shared HTTP entry point's port (http_port), 0 when it is off.</summary>
    public int HttpEntryPort { get; }

    /// <summary>The shared TLS entry point's port (https_port), 0 when it is off.</summary>
    public int TlsEntryPort { get; }

    /// <summary>The relay's clock: a FakeTimeProvider unless the relay was started on the system's.</summary>
    public TimeProvider Clock { get; }

    /// <summary>The fake clock the test moves (only for a relay started with one).</summary>
    public FakeTimeProvider Time => (FakeTimeProvider)Clock;

    public RelayOptions Options { get; }

    internal RelayContext Context { get; }

    public int ControlPort { get; }

    /// <summary>A relay on a fake clock, or on <paramref name="clock"/> (TimeProvider.System for real
    /// deadlines).</summary>
    public static async Task<InProcessRelay> StartAsync(
        Action<RelayOptions>? configure = null, TimeProvider? clock = null)
    {
        var options = new RelayOptions
        {
            DataDir = Directory.CreateTempSubdirectory("gray-relay-").FullName,
            Control = new IPEndPoint(IPAddress.Loopback, 0),
            Console = false,
            HttpListen = new IPEndPoint(IPAddress.Loopback, 0),
        };
        configure?.Invoke(options);
        var time = clock ?? new FakeTimeProvider(DateTimeOffset.UtcNow);
        var builder = Host.CreateApplicationBuilder(
            new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Services.AddSingleton(options).AddSingleton(new LogControl()).AddSingleton(new ExitStatus())
            .AddSingleton<TimeProvider>(time).AddHostedService<RelayService>();
        var host = builder.Build();
        await host.StartAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<RelayService>().Single();
        var context = await service.Started.WaitAsync(Tcp.Deadline);
        return new InProcessRelay(host, time, options, context, service.ControlEndPoint!, service.SharedTlsEndPoint,
            service.SharedHttpEndPoint);
    }

    /// <summary>A node of a cluster on <paramref name="registry"/> (PostgreSQL), on the system clock, its
    /// ports on <paramref name="bind"/>, heartbeating every 250 ms.</summary>
    public static Task<InProcessRelay> StartNodeAsync(string registry, string id, string bind, int controlPort = 0) =>
        StartAsync(options =>
        {
            options.Registry = registry;
            options.Control = new IPEndPoint(IPAddress.Parse(bind), controlPort);
            options.Cluster = new ClusterOptions
            {
                NodeId = id, Advertise = $"{bind}:{(controlPort == 0 ? 44555 : controlPort)}",
                HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            };
        }, TimeProvider.System);

    /// <summary>The control plane's URL and the data directory's admin token.</summary>
    public Gray.Relay.ControlPlane.AdminEndpointFile Admin => System.Text.Json.JsonSerializer.Deserialize(
        File.ReadAllText(Path.Combine(Options.DataDir, Gray.Relay.ControlPlane.AdminEndpointFile.FileName)),
        Gray.Relay.ControlPlane.ApiJson.Default.AdminEndpointFile)!;

    /// <summary>Where agents reach this relay by WebSocket: ws:// or wss:// on the control plane's port.</summary>
    public Uri WebSocketUrl
    {
        get
        {
            var web = new Uri(Admin.Url);
            return new Uri($"{(web.Scheme == "https" ? "wss" : "ws")}://{web.Authority}/gray");
        }
    }

    /// <summary>An HTTP client for the control plane, with <paramref name="token"/> (default: the admin token;
    /// "" for none).</summary>
    public HttpClient Api(string? token = null)
    {
        var admin = Admin;
        var http = new HttpClient { BaseAddress = new Uri(admin.Url), Timeout = Tcp.Deadline };
        token ??= admin.Token;
        if (token.Length > 0) http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return http;
    }

    /// <summary>Registers a server on free loopback ports; with <paramref name="hosts"/>, reached by those
    /// names on the shared ports and without a client port of its own (ClientPort 0).</summary>
    public AddedServer AddServer(string id, ServerProtocols protocols = ServerProtocols.Tcp,
        IReadOnlyCollection<string>? hosts = null)
    {
        // Free now, and none that another server holds: a data port that only the registry knows (its
        // data connections come to the control port) is not bound, so the kernel may offer it again.
        var taken = Context.Registry.List().SelectMany(e => new[] { e.ClientPort ?? 0, e.DataPort }).ToHashSet();
        int FreeUntaken()
        {
            for (int i = 0; i < 100; i++)
            {
                if (Ports.Free() is var port && taken.Add(port)) return port;
            }

            throw new InvalidOperationException("no free port that the registry does not hold");
        }

        var entry = Context.Registry.Add(id, hosts is null ? FreeUntaken() : null, FreeUntaken(), protocols, hosts);
        return new AddedServer(entry.Id, entry.ClientPort ?? 0, entry.DataPort, entry.Secret);
    }

    /// <summary>The live tunnel of <paramref name="id"/>, once its agent is connected.</summary>
    internal async Task<RelayTunnel> TunnelAsync(string id)
    {
        await Wait.UntilAsync(() => Context.Manager.Find(id) is not null, $"the tunnel of {id}");
        return Context.Manager.Find(id)!;
    }

    /// <summary>Runs an agent in this process for <paramref name="server"/>, and waits until its pool is
    /// full (unless <paramref name="waitUntilServing"/> is false: an agent that replaces another, say).</summary>
    /// <param name="webSocket">The relay's WebSocket URL (<see cref="WebSocketUrl"/>), to connect by it.</param>
    public async Task<InProcessAgent> StartAgentAsync(
        AddedServer server, IPEndPoint target, int pool = 8, bool mux = false,
        bool plainData = false, bool waitUntilServing = true, Uri? webSocket = null,
        Gray.Net.HttpConnectProxy? proxy = null, Gray.Protocol.ProxyProtocolVersion proxyProtocol = default,
        bool udp = false)
    {
        var agent = InProcessAgent.Start(this, server, target, pool, mux, plainData, webSocket, proxy, proxyProtocol,
            udp);
        mux |= udp; // UDP flows are channels: a UDP target multiplexes
        _agents.Add(agent);
        if (!waitUntilServing) return agent;
        var tunnel = await TunnelAsync(server.Id);
        await Wait.UntilAsync(() => tunnel.ReadyCount >= (mux ? 1 : pool), $"the pool of {server.Id}");
        return agent;
    }

    /// <summary>Moves the clock on in steps, so that periodic work (housekeeping) runs at each.</summary>
    public void Advance(TimeSpan by, TimeSpan step)
    {
        for (var passed = TimeSpan.Zero; passed < by; passed += step) Time.Advance(step);
    }

    /// <summary>
    /// Moves the fake clock in steps of <paramref name="step"/> until the relay closes <paramref name="client"/>
    /// (at most 40 steps); how far it moved.
    /// </summary>
    public async Task<TimeSpan> AdvanceUntilClosedAsync(System.Net.Sockets.Socket client, TimeSpan step)
    {
        var advanced = TimeSpan.Zero;
        for (int i = 0; i < 40 && !await Tcp.IsClosedByPeerAsync(client, TimeSpan.FromMilliseconds(200)); i++)
        {
            Time.Advance(step);
            advanced += step;
        }

        return advanced;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents) await agent.DisposeAsync();
        await _host.StopAsync();
        _host.Dispose();
    }
}
