// The relay's HTTP endpoint on Kestrel: the API, /metrics, health and the dashboard. An embedded
// WebApplication that RelayService starts once its ports listen and stops with them, like its
// other listeners; it logs through the relay's own logger factory (decision 0035).
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Gray.Relay.ControlPlane;

internal sealed class HttpControlPlane : IAsyncDisposable
{
    /// <summary>HTTP connections at once: the control plane's own budget, apart from the tunnels'.</summary>
    public const int MaxConnections = 128;

    /// <summary>HTTP connections from one source network at once.</summary>
    public const int MaxConnectionsPerAddress = 32;

    /// <summary>Deadline for a request's headers: a slow or silent client is closed before it is known.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A connection with no request in progress is closed after this long (Kestrel's keep-alive
    /// timeout, which also covers a connection that never sends its first byte).</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Largest request body; API requests are a few hundred bytes.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>Largest request head (all headers together).</summary>
    public const int MaxRequestHeadersBytes = 16 * 1024;

    private readonly WebApplication _app;

    private HttpControlPlane(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Where it listens, with the port it got (the configured one may be 0).</summary>
    public Uri Url { get; }

    /// <param name="agents">The control listener, to serve agents' WebSockets; null serves none.</param>
    public static async Task<HttpControlPlane> StartAsync(RelayCommands commands, IPEndPoint endPoint,
        X509Certificate2? certificate, MeterProvider meters, TcpServer? agents, string version,
        CancellationToken cancellationToken)
    {
        var relay = commands.Relay;
        var budget = new HttpConnectionBudget(relay.Options.AddressPrefix, MaxConnectionsPerAddress);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "gray" });
        builder.Services.Replace(
            ServiceDescriptor.Singleton<ILoggerFactory>(new FrameworkLogFilter(relay.LoggerFactory)));
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>(); // the relay's host owns the signals
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = MaxConnections;
            // Agents' WebSockets are counted by the control listener; other upgrades are not served.
            kestrel.Limits.MaxConcurrentUpgradedConnections = agents?.Options.MaxSessions ?? MaxConnections;
            kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
            kestrel.Limits.KeepAliveTimeout = IdleTimeout;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
            kestrel.Listen(endPoint, listen =>
            {
                listen.Use(budget.Wrap);
                if (certificate is null) return;
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });
        builder.Services.AddRoutingCore();
        builder.Services.ConfigureHttpJsonOptions(
            o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJson.Default));
        builder.Services.AddSingleton(commands);
        // Its own back-off: wrong tokens must not block an address's agents, nor wrong proofs its admins.
        var backoff = new LoginBackoff(relay.Time, relay.Options.AddressPrefix);
        builder.Services.AddSingleton(new ControlPlaneInfo(version, backoff));
        OpenApiDocument.Add(builder.Services);

        var app = builder.Build();
        if (agents is not null) AgentWebSockets.Map(app, agents);
        app.UseRouting();
        app.UseMiddleware<TokenAuthentication>();
        HealthEndpoints.Map(app);
        app.MapPrometheusScrapingEndpoint("/metrics", meters, null, null)
            .WithMetadata(new RequiresScope(ApiScope.Read, openAs: "metrics"));
        RelayEndpoints.Map(app);
        ServerEndpoints.Map(app);
        NodeEndpoints.Map(app);
        EventEndpoints.Map(app);
        Dashboard.Map(app);
        OpenApiDocument.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException error) when (error.InnerException is AddressInUseException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ListenException($"the control plane cannot listen on {endPoint}: the address is in use " +
                "(http.listen, or --http)");
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First();
        return new HttpControlPlane(app, new Uri(bound));
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(deadline.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>An embedded application neither handles signals nor stops the process.</summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A listener could not bind; the message says which and why.</summary>
public sealed class ListenException(string message) : Exception(message);

/// <summary>What the endpoints share besides the commands: the version shown, and the login back-off.</summary>
internal sealed record ControlPlaneInfo(string Version, LoginBackoff Backoff);
