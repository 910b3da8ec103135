// The relay's shared entry points (https_port; http_port), opened at start on the public address when
// configured. Each routes a connection to a server by the name it asks for.
using System.Net;

namespace Gray.Relay.HostRouting;

internal sealed class SharedPorts : IAsyncDisposable
{
    private readonly TlsEntryListener? _tls;
    private readonly HttpEntry? _http;

    private SharedPorts(TlsEntryListener? tls, HttpEntry? http)
    {
        _tls = tls;
        _http = http;
    }

    /// <summary>Where the TLS entry point listens; null when it is off.</summary>
    public IPEndPoint? TlsEndPoint => _tls?.EndPoint;

    /// <summary>Where the HTTP entry point listens; null when it is off.</summary>
    public IPEndPoint? HttpEndPoint => _http?.EndPoint;

    /// <summary>Binds the configured entry points. Throws if a port is taken.</summary>
    public static async Task<SharedPorts> StartAsync(RelayContext relay, CancellationToken cancellationToken)
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

        HttpEntry? http = null;
        try
        {
            if (options.HttpPort is { } httpPort)
            {
                http = await HttpEntry.StartAsync(relay, new IPEndPoint(options.EffectivePublicBind, httpPort),
                    cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (tls is not null) await tls.StopAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        return new SharedPorts(tls, http);
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null) await _http.DisposeAsync().ConfigureAwait(false);
        if (_tls is not null) await _tls.StopAsync().ConfigureAwait(false);
    }
}
