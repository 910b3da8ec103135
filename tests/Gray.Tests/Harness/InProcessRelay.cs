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

    private InProcessRelay(IHost host, FakeTimeProvider time, RelayOptions options, RelayContext context, IPEndPoint control)
    {
        _host = host;
        Time = time;
        Options = options;
        Context = context;
        ControlPort = control.Port;
    }

    public FakeTimeProvider Time { get; }

    public RelayOptions Options { get; }

    internal RelayContext Context { get; }

    public int ControlPort { get; }

    public static async Task<InProcessRelay> StartAsync(Action<RelayOptions>? configure = null)
    {
        var options = new RelayOptions
        {
            DataDir = Directory.CreateTempSubdirectory("gray-relay-").FullName,
            Control = new IPEndPoint(IPAddress.Loopback, 0),
            Console = false,
        };
        configure?.Invoke(options);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Services.AddSingleton(options).AddSingleton(new LogControl()).AddSingleton(new ExitStatus())
            .AddSingleton<TimeProvider>(time).AddHostedService<RelayService>();
        var host = builder.Build();
        await host.StartAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<RelayService>().Single();
        var context = await service.Started.WaitAsync(Tcp.Deadline);
        return new InProcessRelay(host, time, options, context, service.ControlEndPoint!);
    }

    /// <summary>Registers a server on free loopback ports.</summary>
    public AddedServer AddServer(string id)
    {
        var entry = Context.Registry.Add(id, Ports.Free(), Ports.Free());
        return new AddedServer(entry.Id, entry.ClientPort, entry.DataPort, entry.Secret);
    }

    /// <summary>The live tunnel of <paramref name="id"/>, once its agent is connected.</summary>
    internal async Task<RelayTunnel> TunnelAsync(string id)
    {
        await Wait.UntilAsync(() => Context.Manager.Find(id) is not null, $"the tunnel of {id}");
        return Context.Manager.Find(id)!;
    }

    /// <summary>Moves the clock on in steps, so that periodic work (housekeeping) runs at each.</summary>
    public void Advance(TimeSpan by, TimeSpan step)
    {
        for (var passed = TimeSpan.Zero; passed < by; passed += step) Time.Advance(step);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
