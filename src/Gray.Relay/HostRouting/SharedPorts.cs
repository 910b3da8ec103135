// The relay's shared entry points (https_port; http_port), opened at start on the public address when
// configured. Each routes a connection to a server by the name it asks for.
using System.Net;

namespace Gray.Relay.HostRouting;

internal sealed class SharedPorts : IAsyncDisposable
{
    private readonly TlsEntryListener? _tls;

    private SharedPorts(TlsEntryListener? tls) => _tls = tls;

    /// <summary>Where the TLS entry point listens; null when it is off.</summary>
    public IPEndPoint? TlsEndPoint => _tls?.EndPoint as IPEndPoint;

    /// <summary>Binds the configured entry points. Throws if a port is taken.</summary>
    public static SharedPorts Start(RelayContext relay)
    {
        var options = relay.Options;
        TlsEntryListener? tls = null;
        if (options.HttpsPort is { } httpsPort)
        {
            // Until routed its connections are pending (their budget); then clients (theirs).
            tls = new TlsEntryListener(relay, new IPEndPoint(options.EffectivePublicBind, httpsPort),
                relay.ListenerOptions(options.EffectiveMaxClients + options.EffectiveMaxPending));
            tls.Start();
        }

        return new SharedPorts(tls);
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is not null) await _tls.StopAsync().ConfigureAwait(false);
    }
}
